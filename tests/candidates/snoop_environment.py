"""Reads the grader's environment: a token, and where HOME points."""

import os

from ._common import TARGETS, attempt, conv2d  # noqa: F401

attempt("environment variable", lambda: os.environ["CNNREF_SNOOP_SECRET"])
attempt(
    "grader's HOME",
    lambda: os.environ["HOME"] if os.environ["HOME"] == TARGETS["home"] else 1 / 0,
)
