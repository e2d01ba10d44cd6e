"""A candidate whose CNNREF_UNSUPPORTED names a feature cnnref does not know."""

from cnnref import conv2d  # noqa: F401

CNNREF_UNSUPPORTED = {"grups"}
