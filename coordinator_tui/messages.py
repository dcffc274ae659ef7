"""Typed messages from thread workers back to the screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from store.queries import AreaOverview, DashboardCounts, OpenNotice


@dataclass
class DashboardLoaded(Message):
    counts: DashboardCounts
    notices: list[OpenNotice]


@dataclass
class AreaLoaded(Message):
    area: str
    overview: AreaOverview
