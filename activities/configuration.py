"""The error of a worker setting that cannot be used: every module that reads one raises it, and the
worker turns it into one line and exit code 1 (activities.deps re-exports it)."""


class ConfigurationError(ValueError):
    """An environment variable with an unusable value (one line: which and why)."""
