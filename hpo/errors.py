"""Errors that the CLI turns into one line and an exit code."""

from __future__ import annotations


class HpoError(Exception):
    """A failure reported to the user as one line, without a traceback."""

    exit_code = 1


class BadInput(HpoError):
    """A config, search space, data file, storage URL or argument is wrong (exit code 2)."""

    exit_code = 2


class DataUnavailable(HpoError):
    """Data that must be downloaded could not be had (offline, or a missing optional package)."""

    exit_code = 1
