"""Errors that services raise; the API's exception handler turns each into its HTTP answer."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request asks for something that cannot be (400, under `field` when one is named)."""


class NotPermitted(DomainError):
    """The user sees the object but may not do this to it (403)."""

    status_code = 403


class StateConflict(DomainError):
    """The object's current state forbids the operation (409)."""

    status_code = 409
