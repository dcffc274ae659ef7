"""A feed server for tests: plain HTTP on loopback, in the test process, with scripted answers."""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    """How one path answers. ``etag``/``last_modified`` make it answer 304 to a matching request."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    gzip: bool = False
    delay: float = 0.0  # seconds before the headers
    trickle: float = 0.0  # seconds between chunks of the body (a slow body)
    drip: float = 0.0  # seconds between single bytes of the whole answer, status line and headers too
    drip_body_only: bool = False  # with drip: the status line and headers at once, then the body
    redirect_to: str = ""  # with status 301/302/307/308
    chunked: bool = False  # no Content-Length (so the size cap must count)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Drip:
    """How far a dripped answer got: ``ended`` is set when it was sent whole or the client left."""

    total: int
    sent: int = 0
    ended: threading.Event = field(default_factory=threading.Event)


class FeedServer:
    def __init__(self, *, tls: tuple[Path, Path] | None = None) -> None:
        """``tls`` = (certificate, key): serve HTTPS with that certificate."""
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closing = threading.Event()  # ends a drip when the server closes
        self.drips: dict[str, Drip] = {}  # path → the last dripped answer on it
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle on, the body waits ~40 ms for
            # the client's delayed ACK on every kept-alive request.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._answer(self)

        class Server(ThreadingHTTPServer):
            # The default backlog of 5 drops the SYNs of a refresh's many parallel connections,
            # and the kernel retries them only after a second.
            request_queue_size = 256

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> str:
        self.routes[path] = route or Route(**kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def hits_of(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.hits[path] += 1
            self.requests.append(Seen(path, {k.lower(): v for k, v in handler.headers.items()}))
        route = self.routes.get(path)
        if route is None:
            self._send(handler, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.delay:
            time.sleep(route.delay)
        if route.drip:
            self._drip(handler, route)
            return
        if route.redirect_to:
            location = route.redirect_to
            self._send(handler, route.status, {"Location": location}, b"")
            return
        validators = {}
        if route.etag:
            validators["ETag"] = route.etag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        if route.status == 200 and (
            (route.etag and handler.headers.get("If-None-Match") == route.etag)
            or (route.last_modified and handler.headers.get("If-Modified-Since") == route.last_modified)
        ):
            self._send(handler, 304, validators, b"")
            return
        body = route.body
        headers = {"Content-Type": route.content_type, **validators, **route.headers}
        if route.gzip and "gzip" in handler.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(handler, route.status, headers, body, trickle=route.trickle, chunked=route.chunked)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        body: bytes,
        *,
        trickle: float = 0.0,
        chunked: bool = False,
    ) -> None:
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            if chunked:
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if status == 304:
                return
            step = 64 * 1024 if not trickle else 16
            for start in range(0, len(body), step):
                piece = body[start : start + step]
                if chunked:
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    handler.wfile.write(piece)
                if trickle:
                    handler.wfile.flush()
                    time.sleep(trickle)
            if chunked:
                handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size cap, timeout): that is the point of those tests

    def _drip(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        """The whole answer one byte at a time, ``route.drip`` seconds apart, until sent or given up."""
        head = f"HTTP/1.1 {route.status} OK\r\nContent-Type: {route.content_type}\r\n"
        head += "".join(f"{key}: {value}\r\n" for key, value in route.headers.items())
        head += f"Content-Length: {len(route.body)}\r\n\r\n"
        answer = head.encode("latin-1") + route.body
        drip = self.drips[handler.path] = Drip(len(answer))
        try:
            if route.drip_body_only:
                handler.wfile.write(answer[: len(head)])
                drip.sent = len(head)
            while drip.sent < len(answer) and not self._closing.is_set():
                handler.wfile.write(answer[drip.sent : drip.sent + 1])
                handler.wfile.flush()
                drip.sent += 1
                self._closing.wait(route.drip)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: the point of the test
        finally:
            drip.ended.set()
        handler.close_connection = True


def running_feed_server(*, tls: tuple[Path, Path] | None = None) -> Iterator[FeedServer]:
    """A pytest fixture body: ``yield from running_feed_server()``."""
    server = FeedServer(tls=tls)
    try:
        yield server
    finally:
        server.close()
