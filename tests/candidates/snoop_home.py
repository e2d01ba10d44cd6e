"""Reads a credentials file in the grader's home directory."""

import os

from ._common import TARGETS, attempt, conv2d, read  # noqa: F401

attempt("home file", lambda: read(os.path.join(TARGETS["home"], ".netrc")))
attempt("home listing", lambda: os.listdir(TARGETS["home"]))
