"""The optional JSON state file (``--state-file``), so a demo's droplets survive a restart."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .core import EmulatorCore

_write_lock = threading.Lock()


def load_state(core: EmulatorCore, path: Path) -> bool:
    """Load ``path`` into ``core`` if it exists; True if it did."""
    if not path.is_file():
        return False
    core.import_state(json.loads(path.read_text()))
    return True


def save_state(core: EmulatorCore, path: Path) -> None:
    """Write atomically, so a crash mid-write leaves the previous state rather than half a file."""
    with _write_lock:
        # Exported under the write lock, so two concurrent saves cannot land older-after-newer.
        data = json.dumps(core.export_state(), indent=1)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(data)
        os.replace(temporary, path)
