"""The API on a real socket for a fuzzing run: one process, one serving thread, one database connection
kept for the whole run, as a gunicorn worker with persistent connections serves it in production.

pytest-django's `live_server` opens a thread and a database connection per request; on PostgreSQL that
made each request cost 70 ms, and a run of a few thousand requests several minutes.
"""

from __future__ import annotations

import threading

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


class ApiServer:
    def __init__(self, host: str = "127.0.0.1"):
        self._server = make_server(host, 0, WSGIHandler(), threaded=False, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._serve, name="api-fuzz-server", daemon=True)
        self.url = f"http://{host}:{self._server.port}"

    def _serve(self) -> None:
        # This thread's own connection, kept across requests (the test settings close it after each one).
        connection = connections["default"]
        connection.settings_dict = {**connection.settings_dict, "CONN_MAX_AGE": None}
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
