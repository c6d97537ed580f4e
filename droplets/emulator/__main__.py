"""``python -m droplets.emulator --port 8808``: serve the DigitalOcean API emulator until interrupted."""

from __future__ import annotations

import signal
import sys

from . import config
from .core import EmulatorCore
from .server import build_server
from .statefile import load_state, save_state
from .wsgi import EmulatorApp


def main(argv: list[str] | None = None) -> None:
    emulator_config, server_config = config.load(argv)
    core = EmulatorCore(emulator_config)
    state_file = server_config.state_file
    if state_file is not None and load_state(core, state_file):
        print(f"Loaded state from {state_file}", flush=True)
    app = EmulatorApp(core, validate=server_config.validate, state_file=state_file)
    server = build_server(app, server_config.host, server_config.port)
    # docker stop / honcho send SIGTERM: leave through the same path as Ctrl-C, so the state gets saved.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"DigitalOcean emulator: DIGITALOCEAN_END_POINT=http://{server.host}:{server.port}/v2/", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        if state_file is not None:
            save_state(core, state_file)


if __name__ == "__main__":
    main()
