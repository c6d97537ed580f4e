"""A stateful emulator of the DigitalOcean v2 API, for tests and offline demos (docs/emulator.md).

It imports no Django: run it with ``python -m droplets.emulator`` or embed ``EmulatorApp`` (WSGI).
"""

from .core import ApiError, EmulatorCore
from .wsgi import EmulatorApp

__all__ = ["ApiError", "EmulatorApp", "EmulatorCore"]
