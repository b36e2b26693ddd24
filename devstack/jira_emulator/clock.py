"""The emulator's clock: wall time that tests can freeze and move.

Everything time-based reads it: JWT ``exp``/``iat`` checks, OAuth access-token expiry, the hourly quota
window, rate-limit buckets and windows, and search index lag. Injected latency uses real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["Clock"]


class Clock:
    """Epoch seconds, possibly frozen and/or shifted from the wall clock."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at
        return self._wall() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> None:
        if self._frozen_at is None:
            self._frozen_at = self.now()

    def unfreeze(self) -> None:
        """Run again from the frozen instant: the time spent frozen is not caught up."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - self._wall()
            self._frozen_at = None

    def advance(self, seconds: float) -> None:
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen_at = None

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now(), "frozen": self.frozen, "offsetSeconds": self.now() - self._wall()}
