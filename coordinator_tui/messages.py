"""Typed messages from thread workers back to the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from store.queries import DashboardCounts, OpenNotice


@dataclass
class DashboardLoaded(Message):
    counts: DashboardCounts
    notices: list[OpenNotice]
    last_sync: datetime | None = None
