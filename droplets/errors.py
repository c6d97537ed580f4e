"""Domain errors of droplet operations, each answered by the API with its status code."""

from waldur_do.errors import InvalidInput, NotPermitted, StateConflict

__all__ = ["InvalidInput", "NotPermitted", "StateConflict"]
