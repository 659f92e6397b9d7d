"""The one exception type users meet: a short message, never a traceback."""


class GradvizError(Exception):
    """Bad input from a user (a file, a row, an option), described in one short line."""
