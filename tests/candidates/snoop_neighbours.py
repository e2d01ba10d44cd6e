"""Reads the instructor's solution beside the submissions, and another student's code."""

import os

from ._common import TARGETS, attempt, conv2d, read  # noqa: F401

attempt("solution", lambda: read(TARGETS["solution"]))
attempt("other submission", lambda: read(TARGETS["other_submission"]))
attempt("grader's folder", lambda: os.listdir(TARGETS["grader"]))
