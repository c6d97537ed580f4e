"""What can go wrong when talking to DigitalOcean, in the few kinds the workers act on differently.

Every message is a sentence a user understands, and never holds a token.
"""


class BackendError(Exception):
    retryable = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientError(BackendError):
    """DigitalOcean was unreachable, slow or broken for a moment: the same call may succeed later.

    `may_have_landed` is true for a write whose answer never came although the request may have reached
    DigitalOcean (a read timeout, a connection dropped after sending): it may have been carried out."""

    retryable = True

    def __init__(self, message: str, *, may_have_landed: bool = False):
        super().__init__(message)
        self.may_have_landed = may_have_landed


class RateLimitedError(TransientError):
    """The account's request budget is spent; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class NotFoundError(BackendError):
    """The droplet (or action) does not exist on DigitalOcean."""


class UnauthorizedError(BackendError):
    """The token was refused: nothing will work until an operator fixes the service settings."""


class RejectedError(BackendError):
    """DigitalOcean understood the request and refused it; its own reason is in the message."""
