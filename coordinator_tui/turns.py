"""Tickets that make background workers run one at a time, in the order they were started."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """Change workers (mail triage, request changes) run in the order the keys were pressed.

    A change records where its rows are once the ones before it are done (mail triage's push,
    request versions); a plain lock would let a later worker overtake an earlier one.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next = 0
        self._serving = 0

    def take(self) -> int:
        with self._condition:
            ticket, self._next = self._next, self._next + 1
            return ticket

    @contextmanager
    def wait_for(self, ticket: int) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._condition:
                self._serving += 1
                self._condition.notify_all()
