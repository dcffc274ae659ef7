"""A small OAuth 2.0 identity provider for the tests, in the shape of Microsoft's v2.0 endpoints.

Plain HTTP on loopback (the app accepts ``http://`` endpoints only there), in the test process:

- ``POST /{tenant}/oauth2/v2.0/devicecode``: the device authorization request (RFC 8628 §3.1);
- ``POST /{tenant}/oauth2/v2.0/token``: the device-code grant (``authorization_pending`` until the
  test calls :meth:`IdentityProvider.approve`, ``slow_down``, ``expired_token``, ``access_denied``) and the
  refresh grant, which rotates the refresh token (the old one stops working);
- ``POST /introspect``: RFC 7662 introspection for Dovecot's ``oauth2`` passdb. It always answers 200
  with the username field present (``{"active": false, "email": ""}`` for an unknown token):
  otherwise Dovecot counts an internal failure, not a refused token.

A user may be a delegate of a shared mailbox (``delegate``): introspecting their token then names the
shared mailbox, as Microsoft 365 lets a delegate's token open a mailbox they have rights to. Tokens
can be expired and refresh tokens revoked; ``down`` makes every endpoint answer 503.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TENANT = "testitenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class DeviceRequest:
    device_code: str
    user_code: str
    scope: str
    expires_at: float
    approved_for: str | None = None  # the account that signed in
    denied: bool = False
    polls: int = 0


@dataclass
class Grant:
    """What a token stands for."""

    account: str
    scope: str
    expires_at: float


@dataclass
class Seen:
    path: str
    form: dict[str, str]


@dataclass
class IdentityProvider:
    access_lifetime: float = 3600.0
    poll_interval: int = 1  # seconds the client is told to wait between polls (RFC 8628 "interval")
    slow_down_polls: int = 0  # answer slow_down to this many polls first
    down: bool = False
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    devices: dict[str, DeviceRequest] = field(default_factory=dict)
    delegates: dict[str, str] = field(default_factory=dict)  # delegate account -> shared mailbox
    seen: list[Seen] = field(default_factory=list)
    introspections: int = 0
    issued: list[str] = field(default_factory=list)  # every access and refresh token ever given out
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                form = {key: values[-1] for key, values in parse_qs(raw).items()}
                status, body = provider.answer(urlsplit(self.path).path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- addresses ----------------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def device_endpoint(self) -> str:
        return f"{self.authority}/{TENANT}/oauth2/v2.0/devicecode"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/{TENANT}/oauth2/v2.0/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.authority}/introspect"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what a test does -------------------------------------------------------------------------------

    def approve(self, user_code: str, account: str) -> None:
        """The user signs in as ``account`` on "another device" and enters ``user_code``."""
        with self._lock:
            for request in self.devices.values():
                if request.user_code == user_code:
                    request.approved_for = account
                    return
        raise KeyError(user_code)

    def deny(self, user_code: str) -> None:
        with self._lock:
            for request in self.devices.values():
                if request.user_code == user_code:
                    request.denied = True

    def wait_for_device_request(self, timeout: float = 10.0) -> DeviceRequest:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = [r for r in self.devices.values() if r.approved_for is None and not r.denied]
            if pending:
                return pending[-1]
            time.sleep(0.02)
        raise TimeoutError("no device authorization request arrived")

    def issue(self, account: str, scope: str = "") -> tuple[str, str]:
        """An access and a refresh token for ``account``, as if it had signed in."""
        with self._lock:
            return self._issue(account, scope)

    def expire_access_tokens(self) -> None:
        with self._lock:
            for grant in self.access.values():
                grant.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self.refresh.clear()

    def token_requests(self, grant_type: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.form.get("grant_type") == grant_type]

    # -- the endpoints ------------------------------------------------------------------------------------

    def _issue(self, account: str, scope: str) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        now = time.time()
        self.access[access] = Grant(account, scope, now + self.access_lifetime)
        self.refresh[refresh] = Grant(account, scope, now + 90 * 86400)
        self.issued += [access, refresh]
        return access, refresh

    def _token_reply(self, account: str, scope: str) -> dict[str, object]:
        access, refresh = self._issue(account, scope)
        return {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": int(self.access_lifetime),
            "access_token": access,
            "refresh_token": refresh,
        }

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.seen.append(Seen(path, dict(form)))
            if self.down:
                return 503, {"error": "temporarily_unavailable", "error_description": "down for a test"}
            if path == "/introspect":
                return self._introspect(form)
            if path == f"/{TENANT}/oauth2/v2.0/devicecode":
                return self._device_authorization(form)
            if path == f"/{TENANT}/oauth2/v2.0/token":
                return self._token(form)
            return 404, {"error": "not_found"}

    def _device_authorization(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "unauthorized_client", "error_description": "unknown client_id"}
        code = secrets.token_urlsafe(24)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        self.devices[code] = DeviceRequest(code, user_code, form.get("scope", ""), time.time() + 900)
        return 200, {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": self.poll_interval,
            "message": f"To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
            f"and enter the code {user_code} to authenticate.",
        }

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client", "error_description": "unknown client_id"}
        grant_type = form.get("grant_type")
        if grant_type == DEVICE_GRANT:
            request = self.devices.get(form.get("device_code", ""))
            if request is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown device code"}
            request.polls += 1
            if request.denied:
                return 400, {"error": "access_denied", "error_description": "the user declined"}
            if time.time() > request.expires_at:
                return 400, {"error": "expired_token", "error_description": "the code expired"}
            if self.slow_down_polls > 0:
                self.slow_down_polls -= 1
                return 400, {"error": "slow_down", "error_description": "polling too fast"}
            if request.approved_for is None:
                return 400, {"error": "authorization_pending", "error_description": "waiting for the user"}
            del self.devices[request.device_code]  # a device code is good for one token
            return 200, self._token_reply(request.approved_for, request.scope)
        if grant_type == "refresh_token":
            grant = self.refresh.pop(form.get("refresh_token", ""), None)  # rotation: used up
            if grant is None or grant.expires_at < time.time():
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "AADSTS700082: The refresh token has expired or was revoked.",
                }
            return 200, self._token_reply(grant.account, form.get("scope") or grant.scope)
        return 400, {"error": "unsupported_grant_type"}

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        self.introspections += 1
        grant = self.access.get(form.get("token", ""))
        if grant is None or grant.expires_at < time.time():
            return 200, {"active": False, "email": ""}
        return 200, {"active": True, "email": self.delegates.get(grant.account, grant.account)}
