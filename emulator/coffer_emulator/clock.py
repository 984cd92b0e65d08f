"""Emulator time: real UTC time plus an offset that the admin API can advance.

Vault Lock grace periods (``ChangeableForDays`` >= 3 days), retention periods and job
progress are all measured against this clock, so tests can move past a ``LockDate``
without waiting days.  moto's own resources keep using moto's clock.
"""

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset.total_seconds()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)


CLOCK = Clock()
