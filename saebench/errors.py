"""The one exception type that reaches users as a clean one-line error."""


class SaebenchError(Exception):
    """A problem the user can fix: the message says what is wrong, where, and what to do.

    The CLI prints it as ``error: <message>`` and exits with code 2, with no traceback
    unless ``--debug`` is given.
    """
