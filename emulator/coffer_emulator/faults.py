"""Fault injection (throttling, latency, lost responses) and the per-account request log.

Each log entry carries a ``request_key``: a hash of what the call asked for (see
:func:`request_key`), so a client that sends the same call twice can be caught.

Faults are keyed by operation. A key is one of, most specific first:
``"<service>:<Operation>"`` (e.g. ``"kms:DescribeKey"``), ``"<Operation>"``,
``"<service>:*"`` or ``"*"``; the first key present decides. ``throttle`` values are
probabilities in [0, 1]; ``latency_ms`` values are milliseconds added before the call is
served. Throttling decisions come from a ``random.Random(seed)``, so the same sequence of
calls gets the same decisions on every run.

``lost_response`` values are rules (:class:`LostResponse`): the call takes effect, then its
answer is lost: the connection is reset, a 500 or 503 comes back instead, or the answer is held
and the connection then dropped (a client's read timeout). A rule hits calls with a probability
(``rate``), the next N calls its key matches (``next``), or only the Nth (``nth``).

``alter_on_write`` lists ``"<service>:<Operation>"`` writes the emulator stores altered while
answering as if it stored the request (``alter.py``).
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


def _matching_key(table: dict[str, Any], service: str, operation: str) -> str | None:
    """The most specific key of ``table`` that names the call, if any."""
    for key in (f"{service}:{operation}", operation, f"{service}:*", "*"):
        if key in table:
            return key
    return None


def _lookup(table: dict[str, float], service: str, operation: str) -> float:
    key = _matching_key(table, service, operation)
    return table[key] if key is not None else 0.0


# The writes `alter_on_write` may name (each one's alteration is in `alter.py`).
ALTERABLE_WRITES = (
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:CreateBackupPlan",
    "backup:CreateBackupSelection",
)

# How a lost answer reaches the client: a reset connection, an HTTP 500 without an error code,
# AWS's common errors `InternalFailure` (500) and `ServiceUnavailable` (503), or the answer held
# for `hold_seconds` and then the connection reset (the client's read timeout).
LOST_KINDS = ("reset", "500", "InternalFailure", "ServiceUnavailable", "timeout")
MAX_HOLD_SECONDS = 600.0


@dataclass(frozen=True)
class LostResponse:
    """One lost-response rule: what the client gets (``kind``) and which calls it hits: each
    with probability ``rate``, the ``next`` N calls its key matches, or only the ``nth``."""

    kind: str
    rate: float = 0.0
    next: int = 0
    nth: int = 0
    hold_seconds: float = 1.0

    @classmethod
    def from_dict(cls, key: str, raw: Any) -> "LostResponse":
        where = f"lost_response[{key!r}]"
        if not isinstance(raw, dict):
            raise ValueError(f'{where} must be an object, e.g. {{"kind": "reset", "next": 1}}')
        unknown = set(raw) - {"kind", "rate", "next", "nth", "hold_seconds"}
        if unknown:
            raise ValueError(f"{where}: unknown settings {sorted(unknown)}")
        kind = raw.get("kind")
        if kind not in LOST_KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(LOST_KINDS)}, not {kind!r}")
        forms = [name for name in ("rate", "next", "nth") if name in raw]
        if len(forms) != 1:
            raise ValueError(f"{where}: give exactly one of rate, next, nth")
        rule = cls(
            kind=kind,
            rate=float(raw.get("rate", 0.0)),
            next=int(raw.get("next", 0)),
            nth=int(raw.get("nth", 0)),
            hold_seconds=float(raw.get("hold_seconds", 1.0)),
        )
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError(f"{where}: rate must be between 0 and 1")
        if rule.next < 0 or ("nth" in raw and rule.nth < 1):
            raise ValueError(f"{where}: next must be >= 0 and nth >= 1")
        if not 0.0 <= rule.hold_seconds <= MAX_HOLD_SECONDS:
            raise ValueError(f"{where}: hold_seconds must be between 0 and {MAX_HOLD_SECONDS:g}")
        return rule

    def to_dict(self) -> dict[str, Any]:
        form = {"rate": self.rate} if self.rate else {"next": self.next} if self.next else {"nth": self.nth}
        hold = {"hold_seconds": self.hold_seconds} if self.kind == "timeout" else {}
        return {"kind": self.kind, **form, **hold}

    def hits(self, count: int, rng: random.Random) -> bool:
        """Whether the ``count``-th call (from 1) this rule's key matched loses its answer."""
        if self.nth:
            return count == self.nth
        if self.next:
            return count <= self.next
        return self.rate >= 1.0 or (self.rate > 0.0 and rng.random() < self.rate)


@dataclass
class FaultConfig:
    seed: int = 0
    throttle: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    lost_response: dict[str, LostResponse] = field(default_factory=dict)
    alter_on_write: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> "FaultConfig":
        raw = raw or {}
        unknown = set(raw) - {"seed", "throttle", "latency_ms", "lost_response", "alter_on_write"}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        throttle = {str(k): float(v) for k, v in (raw.get("throttle") or {}).items()}
        latency = {str(k): float(v) for k, v in (raw.get("latency_ms") or {}).items()}
        if any(not 0.0 <= rate <= 1.0 for rate in throttle.values()):
            raise ValueError("throttle rates must be between 0 and 1")
        if any(ms < 0 for ms in latency.values()):
            raise ValueError("latency_ms values must not be negative")
        lost = raw.get("lost_response") or {}
        if not isinstance(lost, dict):
            raise ValueError("lost_response must map operation keys to rules")
        rules = {str(k): LostResponse.from_dict(str(k), v) for k, v in lost.items()}
        altered = raw.get("alter_on_write") or []
        if not isinstance(altered, list) or not set(altered) <= set(ALTERABLE_WRITES):
            raise ValueError(f"alter_on_write must list operations among {', '.join(ALTERABLE_WRITES)}")
        return cls(
            seed=int(raw.get("seed", 0)),
            throttle=throttle,
            latency_ms=latency,
            lost_response=rules,
            alter_on_write=frozenset(altered),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "throttle": dict(self.throttle),
            "latency_ms": dict(self.latency_ms),
            "lost_response": {key: rule.to_dict() for key, rule in self.lost_response.items()},
            "alter_on_write": sorted(self.alter_on_write),
        }


@dataclass(frozen=True)
class FaultDecision:
    throttle: bool
    latency_seconds: float
    # The call takes effect, then its answer is lost this way (None: answered as usual).
    lost: LostResponse | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(0)
        self._lost_counts: dict[str, int] = {}

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault settings and restart the random sequence from the seed."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._lost_counts: dict[str, int] = {}

    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def decide(self, service: str, operation: str) -> FaultDecision:
        with self._lock:
            rate = _lookup(self._config.throttle, service, operation)
            throttle = rate >= 1.0 or (rate > 0.0 and self._rng.random() < rate)
            latency = _lookup(self._config.latency_ms, service, operation) / 1000.0
            lost = None if throttle else self._lost(service, operation)
        return FaultDecision(throttle, latency, lost)

    def _lost(self, service: str, operation: str) -> LostResponse | None:
        """The lost-response rule that hits this call, counting it against its key."""
        key = _matching_key(self._config.lost_response, service, operation)
        if key is None:
            return None
        self._lost_counts[key] = self._lost_counts.get(key, 0) + 1
        rule = self._config.lost_response[key]
        return rule if rule.hits(self._lost_counts[key], self._rng) else None


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
        lost: str | None = None,
        invocation: str = "",
        attempt: int | None = None,
        max_attempts: int | None = None,
        connection: str = "",
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
                    "lost": lost,
                    "invocation": invocation,
                    "attempt": attempt,
                    "max_attempts": max_attempts,
                    "connection": connection,
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
