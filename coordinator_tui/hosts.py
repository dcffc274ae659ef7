"""Facts about a host name that the config's rules and the connections both need, without pydantic."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True for this machine: ``localhost`` or a loopback address (``127.0.0.1``, ``[::1]``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
