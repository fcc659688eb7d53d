"""A local HTTP server that answers like a vendor's REST API, for connector tests.

    with VendorApi({("GET", "/crm/v3/objects/deals/42"): {"id": "42", ...}}) as api:
        config = SourceConfig(name="hs", api_base=api.url)
        ...
        assert api.requests[0].headers["authorization"] == "Bearer pat-…"

A route's value is a JSON-able body (answered 200), or a ``(status, body)`` tuple, or a
callable ``(request) -> (status, body)``. Unknown routes answer 404 with a JSON error.
Query strings are not part of the route key; they are recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Route = Any | tuple[int, Any] | Callable[[Recorded], tuple[int, Any]]


class VendorApi:
    def __init__(self, routes: Mapping[tuple[str, str], Route] | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = dict(routes or {})
        self.requests: list[Recorded] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                rec = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                api.requests.append(rec)
                route = api.routes.get((self.command, parts.path))
                if route is None:
                    status, body = 404, {"message": f"no route {self.command} {parts.path}"}
                elif callable(route):
                    status, body = route(rec)
                elif isinstance(route, tuple):
                    status, body = route
                else:
                    status, body = 200, route
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> VendorApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
