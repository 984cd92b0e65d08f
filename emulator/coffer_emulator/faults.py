"""Fault injection (throttling, latency) and the per-account request log.

Each log entry carries a ``request_key``: a hash of what the call asked for (see
:func:`request_key`), so a client that sends the same call twice can be caught.

Faults are keyed by operation. A key is one of, most specific first:
``"<service>:<Operation>"`` (e.g. ``"kms:DescribeKey"``), ``"<Operation>"``,
``"<service>:*"`` or ``"*"``; the first key present decides. ``throttle`` values are
probabilities in [0, 1]; ``latency_ms`` values are milliseconds added before the call is
served. Throttling decisions come from a ``random.Random(seed)``, so the same sequence of
calls gets the same decisions on every run.
"""

import hashlib
import json
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

MAX_LOG_ENTRIES = 100_000

# Query parameters of a presigned (query-string SigV4) request: they change with every
# signature, so they are not part of what the call asks for.
_SIGNATURE_PARAMETERS = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)


def request_key(
    *,
    account: str,
    region: str,
    service: str,
    operation: str,
    method: str,
    path: str,
    query: str,
    body: bytes,
) -> str:
    """A stable hash of one call: the account and Region it acts in, the service and operation
    (for JSON protocols the operation is only in the ``X-Amz-Target`` header, so ``POST /``
    with ``{}`` would otherwise be the same call for KMS and Organizations), the HTTP method,
    the path, the query string with its parameters sorted and the SigV4 ones left out, and the
    raw body (JSON and query protocols carry no signature or date in the body). Headers are
    left out: they hold the signature, the dates and SDK invocation IDs.

    Two calls with the same key asked for exactly the same thing of the same account."""
    parameters = sorted(
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if name.lower() not in _SIGNATURE_PARAMETERS
    )
    identity = json.dumps(
        [account, region, service, operation, method.upper(), path, urlencode(parameters)],
        separators=(",", ":"),
    )
    digest = hashlib.sha256(identity.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()[:32]


def _lookup(table: dict[str, float], service: str, operation: str) -> float:
    for key in (f"{service}:{operation}", operation, f"{service}:*", "*"):
        if key in table:
            return table[key]
    return 0.0


@dataclass
class FaultConfig:
    seed: int = 0
    throttle: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> "FaultConfig":
        raw = raw or {}
        unknown = set(raw) - {"seed", "throttle", "latency_ms"}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        throttle = {str(k): float(v) for k, v in (raw.get("throttle") or {}).items()}
        latency = {str(k): float(v) for k, v in (raw.get("latency_ms") or {}).items()}
        if any(not 0.0 <= rate <= 1.0 for rate in throttle.values()):
            raise ValueError("throttle rates must be between 0 and 1")
        if any(ms < 0 for ms in latency.values()):
            raise ValueError("latency_ms values must not be negative")
        return cls(seed=int(raw.get("seed", 0)), throttle=throttle, latency_ms=latency)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "throttle": dict(self.throttle), "latency_ms": dict(self.latency_ms)}


@dataclass(frozen=True)
class FaultDecision:
    throttle: bool
    latency_seconds: float


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(0)

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault settings and restart the random sequence from the seed."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def decide(self, service: str, operation: str) -> FaultDecision:
        with self._lock:
            rate = _lookup(self._config.throttle, service, operation)
            throttle = rate >= 1.0 or (rate > 0.0 and self._rng.random() < rate)
            latency = _lookup(self._config.latency_ms, service, operation) / 1000.0
        return FaultDecision(throttle, latency)


class RequestLog:
    """Every signed AWS call the emulator answered, oldest first (the last 100,000)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._seq = 0

    def record(
        self,
        account: str,
        service: str,
        operation: str,
        region: str,
        status: int,
        throttled: bool,
        *,
        method: str = "",
        path: str = "",
        request_key: str = "",
    ) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append(
                {
                    "seq": self._seq,
                    "time": datetime.now(UTC).isoformat(),
                    "account": account,
                    "service": service,
                    "operation": operation,
                    "region": region,
                    "status": status,
                    "throttled": throttled,
                    "method": method,
                    "path": path,
                    "request_key": request_key,
                }
            )

    def entries(self, **filters: str | None) -> list[dict[str, Any]]:
        """Entries whose fields equal every filter given (account, service, operation, region)."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        with self._lock:
            return [dict(e) for e in self._entries if all(e[k] == v for k, v in wanted.items())]

    def clear(self, account: str | None = None) -> int:
        """Drop all entries, or one account's; return how many were dropped."""
        with self._lock:
            before = len(self._entries)
            kept = [e for e in self._entries if account is not None and e["account"] != account]
            self._entries = deque(kept, maxlen=MAX_LOG_ENTRIES)
            return before - len(kept)
