"""The store's one error type: what happened, and what the user can do about it."""

from __future__ import annotations


class StoreError(Exception):
    """A problem with the store that the user must act on; never a traceback on screen."""

    def __init__(self, what: str, todo: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()
