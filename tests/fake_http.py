"""Local fake HTTP services for tests (GitHub, Kubernetes, an unreachable AWS): a JSON answering handler
and a context manager that serves a server on 127.0.0.1 in a thread for the length of a ``with`` block."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A quiet handler with :meth:`answer`: ``status`` and ``body`` as JSON."""

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@contextmanager
def serving(server: http.server.HTTPServer) -> Iterator[str]:
    """Serve ``server`` in a daemon thread; yield its URL; shut it down and close it afterwards."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
