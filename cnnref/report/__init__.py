"""Verification reports: JSON for machines, HTML for people, JUnit XML for CI systems."""
