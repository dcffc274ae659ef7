"""OAuth2 sign-in for IMAP and SMTP (Microsoft 365 and other identity providers): no Textual here.

The IMAP and SMTP code asks a :class:`TokenSource` for "a user and a token" and knows nothing else.
Behind it, with oauthlib (the OAuth 2.0 protocol: request bodies, replies and their
errors) over httpx:

- **sign-in** by the device authorization grant (RFC 8628): the user opens the verification URL on
  any device and types the code; this machine only polls the token endpoint. No browser needed here,
  so it works over SSH.
- the **refresh token** goes to the system keyring (service ``coordinator-tui``, user
  ``oauth2-<kind>:<account>``), or, with no keyring, into memory for this run. Never the config, the
  store or a log. Providers rotate it (a new one with each refresh); the newest one is kept.
- **access tokens** stay in memory and are refreshed 5 minutes before they expire.

Two failures are kept apart, because the right reaction is opposite:
:class:`SignInRequired` (the refresh token was revoked or expired, the user declined): stop and ask
the user, never loop; :class:`IdentityUnavailable` (the provider answers 5xx, times out, cannot be
reached): back off and try later.

Endpoints come from ``tenant`` (Microsoft 365: ``{authority}/{tenant}/oauth2/v2.0/devicecode`` and
``/token``) or are given as ``device_authorization_endpoint`` and ``token_endpoint`` (Google Workspace,
Keycloak, ...). ``http://`` is accepted only for a provider on this machine (the config refuses it
elsewhere).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from coordinator_tui import APP_NAME
from coordinator_tui.i18n import _

if TYPE_CHECKING:
    from coordinator_tui.config import ServerSection

Kind = Literal["imap", "smtp"]
log = logging.getLogger(__name__)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPES: dict[Kind, tuple[str, ...]] = {
    "imap": ("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"),
    "smtp": ("https://outlook.office.com/SMTP.Send", "offline_access"),
}
REFRESH_LEEWAY_SECONDS = 300  # an access token this close to its expiry is refreshed first
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 20.0

# Refresh tokens typed into this run with no keyring: (kind, account) -> token. Memory only.
_memory: dict[tuple[str, str], str] = {}
_memory_lock = threading.Lock()


class SignInRequired(Exception):
    """The user must sign in (again): ``what`` happened, ``todo`` says how."""

    def __init__(self, what: str, todo: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


class IdentityUnavailable(Exception):
    """The identity provider cannot be used now (5xx, timeout, network): try again later."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.todo = _("The app tries again later by itself; nothing was lost.")

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


@runtime_checkable
class TokenSource(Protocol):
    """What the IMAP and SMTP logins need: the SASL user and a current access token."""

    @property
    def user(self) -> str: ...

    def token(self) -> str:
        """A current access token; raises SignInRequired or IdentityUnavailable."""
        ...

    def rejected(self) -> None:
        """The server refused the last token: the next :meth:`token` gets a fresh one."""
        ...


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoints:
    device_authorization: str
    token: str


@dataclass(frozen=True)
class OAuth2Settings:
    kind: Kind
    client_id: str
    scopes: tuple[str, ...]
    endpoints: Endpoints
    account: str  # the signed-in user (the delegate); names the keyring entry
    sasl_user: str  # the mailbox to open: the shared mailbox, else the account

    @classmethod
    def from_section(cls, kind: Kind, section: ServerSection) -> OAuth2Settings:
        return cls(
            kind=kind,
            client_id=section.client_id,
            scopes=tuple(section.scopes) or DEFAULT_SCOPES[kind],
            endpoints=endpoints_for(section),
            account=section.username,
            sasl_user=section.shared_mailbox or section.username,
        )


def endpoints_for(section: ServerSection) -> Endpoints:
    """Explicit endpoints when given, else Microsoft's v2.0 endpoints of the tenant."""
    if section.device_authorization_endpoint and section.token_endpoint:
        return Endpoints(section.device_authorization_endpoint, section.token_endpoint)
    base = f"{(section.authority or MICROSOFT_AUTHORITY).rstrip('/')}/{section.tenant}/oauth2/v2.0"
    return Endpoints(f"{base}/devicecode", f"{base}/token")


# -- the refresh token's keeping -----------------------------------------------------------------


def keyring_user(kind: Kind, account: str) -> str:
    return f"oauth2-{kind}:{account}"


@dataclass(frozen=True)
class Stored:
    refresh_token: str
    signed_in_at: str = ""  # ISO time, for doctor
    where: Literal["keyring", "memory"] = "keyring"


def load_refresh_token(kind: Kind, account: str) -> Stored | None:
    with _memory_lock:
        remembered = _memory.get((kind, account))
    try:
        import keyring

        raw = keyring.get_password(APP_NAME, keyring_user(kind, account))
    except Exception as error:  # no backend, a locked collection, D-Bus missing over SSH, ...
        log.info("keyring lookup for the %s refresh token failed: %s", kind, type(error).__name__)
        raw = None
    if raw:
        try:
            data = json.loads(raw)
            return Stored(str(data["refresh_token"]), str(data.get("signed_in_at", "")))
        except (ValueError, KeyError, TypeError):
            log.warning("the keyring's %s sign-in entry is unreadable; sign in again", kind)
    if remembered:
        return Stored(remembered, "", "memory")
    return None


def save_refresh_token(kind: Kind, account: str, refresh_token: str, signed_in_at: str = "") -> str:
    """Keep the refresh token: in the keyring, else in memory for this run. Returns where it went."""
    from coordinator_tui.secrets import keyring_available

    available, why = keyring_available()
    if available:
        try:
            import keyring

            entry = json.dumps({"refresh_token": refresh_token, "signed_in_at": signed_in_at})
            keyring.set_password(APP_NAME, keyring_user(kind, account), entry)
            return "keyring"
        except Exception as error:
            log.warning("the keyring refused the %s sign-in: %s", kind, type(error).__name__)
    else:
        log.info("no keyring (%s): the %s sign-in is kept in memory for this run", why, kind)
    with _memory_lock:
        _memory[(kind, account)] = refresh_token
    return "memory"


def forget_refresh_token(kind: Kind, account: str) -> None:
    with _memory_lock:
        _memory.pop((kind, account), None)
    try:
        import keyring

        keyring.delete_password(APP_NAME, keyring_user(kind, account))
    except Exception as error:  # nothing stored, or no keyring: nothing to forget there
        log.debug("no keyring entry to forget: %s", type(error).__name__)


# -- talking to the identity provider ------------------------------------------------------------


def _oauthlib_client(settings: OAuth2Settings) -> Any:
    from oauthlib.oauth2 import DeviceClient

    return DeviceClient(settings.client_id, scope=list(settings.scopes))


def _unavailable(settings: OAuth2Settings, error: BaseException | str) -> IdentityUnavailable:
    host = urlsplit(settings.endpoints.token).hostname or ""
    return IdentityUnavailable(
        _("The sign-in service {host} cannot be reached ({error}).").format(
            host=host, error=_short(error if isinstance(error, BaseException) else Exception(error))
        )
    )


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "…"


def _post(settings: OAuth2Settings, url: str, body: str) -> tuple[int, str, Any]:
    """POST a form to the provider: (status, text, JSON or None). Network trouble, 429 and 5xx
    raise IdentityUnavailable; what is left is the provider's answer for the caller to read."""
    import httpx

    try:
        with httpx.Client(
            timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
            headers={"User-Agent": f"{APP_NAME} (OAuth2 device sign-in)", "Accept": "application/json"},
        ) as client:
            response = client.post(
                url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
    except (httpx.HTTPError, OSError) as error:
        raise _unavailable(settings, error) from error
    if response.status_code >= 500 or response.status_code == 429:
        raise _unavailable(settings, f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if response.status_code >= 400:
            raise SignInRequired(
                _("The sign-in service refused the request (HTTP {status}).").format(
                    status=response.status_code
                ),
                _("Check client_id, tenant and the endpoints in the config."),
            )
        raise _unavailable(settings, _("an answer that is not JSON"))
    return response.status_code, response.text, data


def _token_request(settings: OAuth2Settings, body: str) -> dict[str, Any]:
    """A token endpoint request; an OAuth error reply raises oauthlib's OAuth2Error (``.error``)."""
    _status, text, _data = _post(settings, settings.endpoints.token, body)
    # oauthlib reads the reply and raises the error it names (RFC 6749 §5.2); no scope is passed,
    # so a provider that returns the scopes in another form is not taken for a changed grant.
    return dict(_oauthlib_client(settings).parse_request_body_response(text))


def _oauth_error(error: Any) -> tuple[str, str]:
    return str(getattr(error, "error", "") or ""), str(getattr(error, "description", "") or "")


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to sign in elsewhere, and what this machine polls with."""

    verification_uri: str
    user_code: str
    device_code: str
    expires_at: float  # time.monotonic()
    interval: float
    message: str = ""  # the provider's own instructions (in the provider's language)


def start_device_sign_in(settings: OAuth2Settings) -> DeviceCode:
    """Ask the provider for a user code (RFC 8628 §3.1)."""
    from urllib.parse import urlencode

    body = urlencode({"client_id": settings.client_id, "scope": " ".join(settings.scopes)})
    status, _text, data = _post(settings, settings.endpoints.device_authorization, body)
    if "error" in data or status >= 400:
        raise SignInRequired(
            _("The sign-in service refused to start a sign-in: {code} {description}")
            .format(
                code=data.get("error", status),
                description=_short(Exception(data.get("error_description", ""))),
            )
            .strip(),
            _("Check client_id and tenant (or the endpoints) in the config."),
        )
    try:
        return DeviceCode(
            verification_uri=str(data.get("verification_uri") or data["verification_url"]),
            user_code=str(data["user_code"]),
            device_code=str(data["device_code"]),
            expires_at=time.monotonic() + float(data.get("expires_in", 900)),
            interval=max(1.0, float(data.get("interval", 5))),
            message=str(data.get("message", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise IdentityUnavailable(
            _("The sign-in service gave an incomplete answer ({error}).").format(error=_short(error))
        ) from error


def finish_device_sign_in(
    settings: OAuth2Settings,
    device: DeviceCode,
    *,
    cancelled: threading.Event | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> AccessToken:
    """Poll until the user has signed in; keeps the refresh token. Raises SignInRequired when the
    user declined, the code expired or the wait was cancelled; IdentityUnavailable when the
    provider keeps failing."""
    from oauthlib.oauth2 import OAuth2Error

    interval = device.interval
    failures = 0
    while True:
        if cancelled is not None and cancelled.is_set():
            raise SignInRequired(_("The sign-in was cancelled."), "")
        if time.monotonic() > device.expires_at:
            raise SignInRequired(_("The sign-in code expired before it was used."), _("Start again."))
        waited = cancelled.wait(interval) if cancelled is not None else sleep(interval)
        if waited is True:
            raise SignInRequired(_("The sign-in was cancelled."), "")
        try:
            token = _token_request(
                settings,
                _oauthlib_client(settings).prepare_request_body(device.device_code, include_client_id=True),
            )
        except OAuth2Error as error:
            code, description = _oauth_error(error)
            if code == "authorization_pending":
                continue
            if code == "slow_down":
                interval += 5  # RFC 8628 §3.5
                continue
            if code == "access_denied":
                raise SignInRequired(_("The sign-in was declined."), _("Start again to sign in.")) from error
            if code == "expired_token":
                raise SignInRequired(
                    _("The sign-in code expired before it was used."), _("Start again.")
                ) from error
            raise SignInRequired(
                _("The sign-in failed: {code} {description}")
                .format(code=code, description=_short(Exception(description)))
                .strip(),
                _("Start again; if it keeps failing, check client_id and tenant in the config."),
            ) from error
        except IdentityUnavailable:
            failures += 1  # a short outage while the user signs in: keep polling, slower
            if failures >= 5:
                raise
            interval = min(interval * 2, 30)
            continue
        access = _accept(settings, token, signed_in=True)
        _seed_source(settings, access)  # the first login after a sign-in needs no refresh
        return access


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime
    where: str = "keyring"  # where the refresh token went

    def expires_in(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()


def _accept(settings: OAuth2Settings, token: dict[str, Any], *, signed_in: bool = False) -> AccessToken:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise IdentityUnavailable(_("The sign-in service gave no access token."))
    lifetime = float(token.get("expires_in") or 3600)
    where = ""
    refresh = token.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        previous = load_refresh_token(settings.kind, settings.account)
        signed_in_at = (
            datetime.now(UTC).isoformat(timespec="seconds")
            if signed_in or previous is None
            else previous.signed_in_at
        )
        where = save_refresh_token(settings.kind, settings.account, refresh, signed_in_at)
    elif signed_in:
        raise SignInRequired(
            _("The sign-in gave no refresh token, so it would not last."),
            _("Add offline_access to the scopes in the config and sign in again."),
        )
    return AccessToken(access, datetime.fromtimestamp(time.time() + lifetime, UTC), where)


def refresh_access_token(settings: OAuth2Settings) -> AccessToken:
    """A new access token from the stored refresh token (the refresh grant)."""
    from oauthlib.oauth2 import OAuth2Error

    stored = load_refresh_token(settings.kind, settings.account)
    if stored is None:
        raise SignInRequired(
            _("Not signed in to {kind} as {account}.").format(
                kind=settings.kind.upper(), account=settings.account
            ),
            _("Sign in: coordinator-tui login {kind}").format(kind=settings.kind),
        )
    body = _oauthlib_client(settings).prepare_refresh_body(
        refresh_token=stored.refresh_token, scope=list(settings.scopes), client_id=settings.client_id
    )
    try:
        token = _token_request(settings, body)
    except OAuth2Error as error:
        code, description = _oauth_error(error)
        if code in ("temporarily_unavailable", "server_error"):
            raise IdentityUnavailable(
                _("The sign-in service is unavailable: {description}").format(description=description or code)
            ) from error
        # Another process may have rotated the token meanwhile: then the stored one is newer.
        newer = load_refresh_token(settings.kind, settings.account)
        if newer is not None and newer.refresh_token != stored.refresh_token:
            return refresh_access_token(settings)
        raise SignInRequired(
            _("The {kind} sign-in of {account} is no longer valid ({code}).").format(
                kind=settings.kind.upper(), account=settings.account, code=code or "invalid_grant"
            ),
            _("Sign in again: coordinator-tui login {kind}").format(kind=settings.kind),
        ) from error
    return _accept(settings, token)


class OAuth2TokenSource:
    """Access tokens for one account, refreshed as needed; thread-safe (the sync and sends share it)."""

    def __init__(self, settings: OAuth2Settings, *, initial: AccessToken | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._current: AccessToken | None = initial

    @property
    def user(self) -> str:
        return self.settings.sasl_user

    @property
    def current(self) -> AccessToken | None:
        return self._current

    def token(self) -> str:
        with self._lock:
            current = self._current
            if current is None or current.expires_in() < REFRESH_LEEWAY_SECONDS:
                current = self._current = refresh_access_token(self.settings)
            return current.value

    def rejected(self) -> None:
        with self._lock:
            self._current = None

    def __repr__(self) -> str:  # never the token
        return f"OAuth2TokenSource({self.settings.kind}, {self.settings.account!r} → {self.user!r})"


# One source per (kind, account) per process: a refresh in one worker serves the others.
_sources: dict[tuple[str, str, str], OAuth2TokenSource] = {}
_sources_lock = threading.Lock()


def token_source(kind: Kind, section: ServerSection) -> OAuth2TokenSource:
    settings = OAuth2Settings.from_section(kind, section)
    key = (kind, settings.account, settings.sasl_user)
    with _sources_lock:
        source = _sources.get(key)
        if source is None or source.settings != settings:
            source = _sources[key] = OAuth2TokenSource(settings)
        return source


def _seed_source(settings: OAuth2Settings, access: AccessToken) -> None:
    key = (settings.kind, settings.account, settings.sasl_user)
    with _sources_lock:
        _sources[key] = OAuth2TokenSource(settings, initial=access)


def is_signed_in(kind: Kind, section: ServerSection) -> bool:
    return load_refresh_token(kind, section.username) is not None


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def forget_sources() -> None:
    """Forget access tokens and run-only sign-ins (tests; a new sign-in)."""
    with _sources_lock:
        _sources.clear()
    with _memory_lock:
        _memory.clear()
