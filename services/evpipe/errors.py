"""Expected failures: the CLI prints their message on one line and exits non-zero."""


class EvpipeError(Exception):
    """A failure the user can act on; never shown with a traceback."""

    exit_code = 1


class ConfigError(EvpipeError):
    exit_code = 2


class DatabaseUnavailable(EvpipeError):
    exit_code = 3


class RunInProgress(EvpipeError):
    exit_code = 4


class FileRefused(EvpipeError):
    """A whole input file cannot be loaded (unreadable, missing columns, ambiguous dates)."""
