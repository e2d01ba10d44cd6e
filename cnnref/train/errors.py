"""The one error a user's file can cause: it names the file and the rule it broke."""


class DataFileError(ValueError):
    """A data set, checksum or checkpoint file that is missing, unreadable or malformed."""
