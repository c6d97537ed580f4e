"""Serving the emulator over real HTTP: werkzeug's threaded server, in the foreground or a thread."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .wsgi import EmulatorApp


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: tests and benchmarks make thousands."""

    def log_request(self, code="-", size="-") -> None:
        pass


def build_server(app: EmulatorApp, host: str, port: int, *, quiet: bool = False) -> BaseWSGIServer:
    # Threaded: web, workers and beat call it concurrently, and latency faults sleep inside a request.
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler if quiet else None)


class BackgroundServer:
    """The emulator on a real socket, served from a daemon thread (pytest fixtures, benchmarks)."""

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server = build_server(app, host, port, quiet=True)
        # A short poll interval, so stop() (it waits for the serving loop to notice) takes ms, not 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="do-emulator", daemon=True
        )

    @property
    def base_url(self) -> str:
        """scheme://host:port, without the /v2/ API prefix."""
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
