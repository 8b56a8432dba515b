"""Errors a use case raises for its caller to show (CLI: one line; API: a status code)."""

from __future__ import annotations


class UseCaseError(Exception):
    """Base class: the message is for a person."""


class NotFound(UseCaseError, LookupError):
    """No such file or message (or its object is gone)."""


class InvalidInput(UseCaseError, ValueError):
    """A value the caller gave is malformed; `field` names which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class IntegrityError(UseCaseError):
    """The bytes read do not match the recorded sha256."""


class TooLarge(InvalidInput):
    """A declared size above the configured cap (the API answers 413)."""


class UnsupportedType(InvalidInput):
    """A content type outside the allowed list (the API answers 415)."""
