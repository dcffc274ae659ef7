"""One conditional HTTP GET of a feed, with timeouts, a size cap, redirects and Retry-After."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from coordinator_tui import APP_NAME, __version__
from coordinator_tui.i18n import _

USER_AGENT = f"{APP_NAME}/{__version__} (feed reader; +https://github.com/coordinator-tui)"
MAX_BYTES = 5 * 1024 * 1024
PERMANENT = (301, 308)


@dataclass(frozen=True)
class FetchLimits:
    connect: float = 5.0  # seconds to connect (TCP + TLS)
    total: float = 20.0  # seconds for the whole answer, however slowly it trickles in
    max_bytes: int = MAX_BYTES  # decoded size; also caps a gzip bomb
    max_redirects: int = 10


@dataclass
class FetchResult:
    """What one GET gave. ``status``: ok, not_modified or error (``kind`` says which)."""

    status: str
    url: str  # the address asked for
    final_url: str = ""  # where the answer came from after redirects
    permanent_url: str = ""  # the address to use from now on, when every redirect up to it was permanent
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    http_status: int | None = None
    kind: str = ""  # dns, refused, tls, timeout, http, too_large, retry_later, network
    error: str = ""  # in words, for the feed row
    retry_at: datetime | None = None


_DEFAULT_TLS: list[ssl.SSLContext] = []  # made once: loading the CA bundle is 40 ms of every refresh
_DEFAULT_TLS_LOCK = threading.Lock()


def default_tls() -> ssl.SSLContext:
    """httpx's verifying TLS context (its CA bundle, SSL_CERT_FILE honoured), shared by all refreshes."""
    with _DEFAULT_TLS_LOCK:
        if not _DEFAULT_TLS:
            _DEFAULT_TLS.append(httpx.create_ssl_context(verify=True))
        return _DEFAULT_TLS[0]


# The end of the fetch this thread is doing (time.monotonic()), or None: see _DeadlineStream.
_DEADLINE = threading.local()


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout``, cut to what is left of this thread's fetch; raises ``error`` when nothing is."""
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the whole answer took longer than the fetch may")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the fetch's deadline (FetchLimits.total).

    httpx's timeouts are per read: a server that sends one byte a second (even of its status line
    and headers, before fetch() sees a response) would hold a refresh for hours.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _transport(verify: ssl.SSLContext | bool) -> httpx.HTTPTransport:
    """httpx's own transport, its connections held to each fetch's deadline.

    httpx takes no network backend, so the one its pool made is wrapped in place (private
    attributes of httpx 0.28 / httpcore 1.0, pinned in requirements; a missing one fails here, and
    tests/integration/test_misbehaving_servers.py drips a feed to prove the wrapping works).
    """
    transport = httpx.HTTPTransport(
        verify=verify, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
    )
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


def make_client(limits: FetchLimits = FetchLimits(), *, verify: ssl.SSLContext | bool = True) -> httpx.Client:
    """One client shared by the refresh's threads (httpx.Client is thread-safe; it pools connections)."""
    if verify is True:
        verify = default_tls()
    return httpx.Client(
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, "
            "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        },
        timeout=httpx.Timeout(limits.total, connect=limits.connect),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        verify=verify,  # for proxies from the environment; the transport has its own
        transport=_transport(verify),
    )


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), 7 * 24 * 3600))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(moment.astimezone(UTC), now)


def _permanent_url(url: str, response: httpx.Response) -> str:
    """The target of the leading run of permanent redirects ("" when the first hop is temporary)."""
    remembered = ""
    for hop in response.history:
        if hop.status_code not in PERMANENT or "location" not in hop.headers:
            break
        remembered = urljoin(str(hop.url), hop.headers["location"])
    return remembered if remembered and remembered != url else ""


def fetch(
    client: httpx.Client,
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    limits: FetchLimits = FetchLimits(),
    now: datetime | None = None,
) -> FetchResult:
    """GET ``url`` conditionally; never raises for network or HTTP trouble, it says what happened."""
    now = now or datetime.now(UTC)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + limits.total
    _DEADLINE.at = deadline  # every read and write of this fetch ends by then (_DeadlineStream)
    try:
        with client.stream("GET", url, headers=headers) as response:
            result = FetchResult(
                status="ok",
                url=url,
                final_url=str(response.url),
                http_status=response.status_code,
                headers={key.lower(): value for key, value in response.headers.items()},
            )
            code = response.status_code
            if code == 304:
                result.status = "not_modified"
                result.permanent_url = _permanent_url(url, response)
                result.etag = response.headers.get("etag", etag)
                result.last_modified = response.headers.get("last-modified", last_modified)
                return result
            if code in (429, 503):
                result.retry_at = retry_after(response.headers.get("retry-after"), now)
                return _failed(result, "retry_later", _retry_words(code, result.retry_at))
            if code >= 400 or code < 200 or code in (204, 205):
                return _failed(result, "http", _http_words(code))
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                return _failed(result, "too_large", _too_large_words(limits.max_bytes))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    return _failed(result, "too_large", _too_large_words(limits.max_bytes))
                if time.monotonic() > deadline:
                    return _failed(result, "timeout", _timeout_words(limits.total))
                chunks.append(chunk)
            result.body = b"".join(chunks)
            result.permanent_url = _permanent_url(url, response)
            result.etag = response.headers.get("etag", "")
            result.last_modified = response.headers.get("last-modified", "")
            return result
    except httpx.TooManyRedirects:
        return _failed(FetchResult("error", url), "http", _("Too many redirects; check the feed's address."))
    except httpx.TimeoutException as error:
        if isinstance(error, httpx.ConnectTimeout):
            words = _("No connection to the server within {seconds:g} s.").format(seconds=limits.connect)
            return _failed(FetchResult("error", url), "timeout", words)
        return _failed(FetchResult("error", url), "timeout", _timeout_words(limits.total))
    except httpx.UnsupportedProtocol:
        return _failed(FetchResult("error", url), "http", _("The address is not an http(s) address."))
    except (httpx.TransportError, ssl.SSLError, OSError) as error:
        kind, words = _transport_words(error)
        return _failed(FetchResult("error", url), kind, words)
    except httpx.DecodingError:
        return _failed(
            FetchResult("error", url), "network", _("The server sent a damaged compressed answer.")
        )
    finally:
        _DEADLINE.at = None


def _failed(result: FetchResult, kind: str, words: str) -> FetchResult:
    result.status = "error"
    result.kind = kind
    result.error = words
    result.body = b""
    return result


def _causes(error: BaseException) -> str:
    """Every message in the exception chain, lower-cased, to tell DNS from TLS from a refusal."""
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(parts) < 8:
        parts.append(f"{type(seen).__name__} {seen}")
        seen = seen.__cause__ or seen.__context__
    return " ".join(parts).lower()


def _transport_words(error: BaseException) -> tuple[str, str]:
    text = _causes(error)
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "tls", _(
            "The server's certificate could not be verified (TLS); the feed was not read. "
            "Check the address, or ask the site to fix its certificate."
        )
    if (
        "name or service not known" in text
        or "nodename" in text
        or "getaddrinfo" in text
        or ("name resolution" in text)
    ):
        return "dns", _("The server's name was not found (DNS). Check the address and the network.")
    if "refused" in text:
        return "refused", _("The server refused the connection. It may be down; try again later.")
    return "network", _("The connection failed: {reason}").format(
        reason=str(error)[:200] or type(error).__name__
    )


def _http_words(code: int) -> str:
    if code == 404 or code == 410:
        return _("The feed is not at this address (HTTP {code}). Check the address.").format(code=code)
    if code in (401, 403):
        return _("The server does not let us read the feed (HTTP {code}).").format(code=code)
    if code >= 500:
        return _("The server had an error (HTTP {code}). Try again later.").format(code=code)
    return _("The server answered HTTP {code}; the feed was not read.").format(code=code)


def _retry_words(code: int, retry_at: datetime | None) -> str:
    if retry_at is None:
        return _("The server is busy (HTTP {code}); the feed is tried again at the next refresh.").format(
            code=code
        )
    from coordinator_tui.timefmt import fi_datetime

    return _("The server asked us to wait (HTTP {code}) until {when}.").format(
        code=code, when=fi_datetime(retry_at)
    )


def _too_large_words(limit: int) -> str:
    return _("The feed is larger than {megabytes} MB; it was not read.").format(
        megabytes=limit // (1024 * 1024)
    )


def _timeout_words(seconds: float) -> str:
    return _("The server did not send the feed within {seconds:g} s.").format(seconds=seconds)
