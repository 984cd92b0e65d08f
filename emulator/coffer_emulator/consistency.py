"""Optional eventual consistency: changes that take effect only some seconds after they are made.

AWS is eventually consistent. A change is acknowledged at once (and reads such as
``GetKeyPolicy`` or ``GetBackupVaultAccessPolicy`` return it), but the systems that enforce it
see it seconds to minutes later (docs/aws-behaviour.md section 10):

* ``new_role``: a new IAM role cannot be assumed, nor used by AWS Backup, at once.
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency]
* ``key_policy``: after ``PutKeyPolicy`` KMS may still evaluate the previous key policy ("changes
  to AWS KMS resources might not be immediately visible ... it can take several minutes").
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html]
* ``vault_policy``: a vault access policy is a resource-based IAM policy; after
  ``PutBackupVaultAccessPolicy`` / ``DeleteBackupVaultAccessPolicy`` the previous one may still be
  evaluated (the Terraform provider retries vault policies for IAM eventual consistency).
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency]
  [source: https://github.com/hashicorp/terraform-provider-aws/pull/34671 (TestAccBackupVaultPolicy_eventualConsistency)]
* ``vault_deleted``: after ``DeleteBackupVault`` the name stays taken while the deletion
  propagates: ``CreateBackupVault`` of the same name answers ``AlreadyExistsException`` "Backup
  vault with the same name already exists", and the vault may still be listed.
  [source: https://github.com/hashicorp/terraform-provider-aws/issues/49647]
  [source: https://github.com/hashicorp/terraform-provider-aws/pull/50086]
* ``cross_account_backup``: after ``UpdateGlobalSettings`` copy jobs may still see the previous
  ``isCrossAccountBackupEnabled`` (AWS: cross-account jobs may go on for up to 15 minutes after it
  is turned off).
  [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html]

The emulator models this with one delay per kind, in seconds of the emulator clock
(``clock.CLOCK``, so tests move past a delay with ``POST /_coffer/clock``). Every delay is 0
(off) by default; a world's ``eventual_consistency`` key or ``PUT /_coffer/consistency`` sets
them. A change made while its kind's delay is N records the state before it and the moment
``now + N`` from which the change is visible; until then the previous state is the one
evaluated. Changes made while the delay is 0, and everything a world file creates, are visible
at once. Reads are not delayed.
"""

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.iam.models import IAMBackend

from . import identity
from .clock import CLOCK

if TYPE_CHECKING:
    from moto.kms.models import Key

    from .backup.models import Vault

NEW_ROLE = "new_role"
KEY_POLICY = "key_policy"
VAULT_POLICY = "vault_policy"
VAULT_DELETED = "vault_deleted"
CROSS_ACCOUNT_BACKUP = "cross_account_backup"
KINDS = (NEW_ROLE, KEY_POLICY, VAULT_POLICY, VAULT_DELETED, CROSS_ACCOUNT_BACKUP)

# The state of a role before it was created.
_ABSENT = object()
_PRESENT = object()


@dataclass(frozen=True)
class ConsistencyConfig:
    """Seconds each kind of change takes to be visible (0: at once)."""

    delays: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any) -> "ConsistencyConfig":
        """Parse ``{"key_policy": 3, ...}``; kinds left out are 0. Raises ValueError naming the key."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping of {', '.join(KINDS)} to seconds, got {value!r}")
        unknown = set(value) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} (known: {sorted(KINDS)})")
        delays: dict[str, float] = {}
        for kind, seconds in value.items():
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise ValueError(f"{kind} must be a number of seconds >= 0, got {seconds!r}")
            delays[kind] = float(seconds)
        return cls(delays)

    def delay(self, kind: str) -> float:
        return self.delays.get(kind, 0.0)

    def to_dict(self) -> dict[str, float]:
        """Every kind with its delay."""
        return {kind: self.delay(kind) for kind in KINDS}


@dataclass(frozen=True)
class _Change:
    """One change of one resource: the state before it, and when it becomes visible."""

    changed_at: datetime
    visible_at: datetime
    previous: Any


class Propagation:
    """The configured delays and the changes that are not visible yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = ConsistencyConfig()
        self._changes: dict[tuple[str, Hashable], list[_Change]] = {}

    def configure(self, config: ConsistencyConfig) -> None:
        """New delays, for changes made from now on (pending changes keep their moment)."""
        with self._lock:
            self._config = config

    def config(self) -> ConsistencyConfig:
        with self._lock:
            return self._config

    def reset(self) -> None:
        """No delays, and every change visible."""
        with self._lock:
            self._config = ConsistencyConfig()
            self._changes.clear()

    def record(self, kind: str, key: Hashable, previous: Any) -> None:
        """``key`` (of ``kind``) changes now; ``previous`` is its state before the change."""
        with self._lock:
            delay = self._config.delay(kind)
            if delay <= 0:
                return
            now = CLOCK.now()
            change = _Change(now, now + timedelta(seconds=delay), previous)
            self._changes.setdefault((kind, key), []).append(change)

    def visible(self, kind: str, key: Hashable, current: Any) -> Any:
        """The state of ``key`` that is evaluated now: ``current``, or the state before the
        oldest change not visible yet (changes after the newest visible one)."""
        with self._lock:
            return self._visible((kind, key), current, CLOCK.now())

    def pending(self, kind: str, matches: Callable[[Hashable], bool]) -> list[Any]:
        """The previous states of the resources of ``kind`` (keys that ``matches``) whose change
        is not visible yet."""
        now = CLOCK.now()
        with self._lock:
            marker = object()
            found = []
            for entry in list(self._changes):
                if entry[0] != kind or not matches(entry[1]):
                    continue
                value = self._visible(entry, marker, now)
                if value is not marker:
                    found.append(value)
            return found

    def _visible(self, entry: tuple[str, Hashable], current: Any, now: datetime) -> Any:
        changes = self._changes.get(entry)
        if not changes:
            return current
        visible = [index for index, change in enumerate(changes) if change.visible_at <= now]
        if visible:
            # Everything up to the newest visible change is superseded by it.
            del changes[: visible[-1] + 1]
        if not changes:
            del self._changes[entry]
            return current
        return changes[0].previous


STATE = Propagation()


# ------------------------------------------------------------------ new_role


def role_visible(role_arn: str) -> bool:
    """Whether ``sts:AssumeRole`` and AWS Backup see the role (which exists in IAM) yet."""
    return STATE.visible(NEW_ROLE, role_arn, _PRESENT) is _PRESENT


def _recording_create_role(create_role: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``IAMBackend.create_role``, recording roles created by a signed request (world
    files and moto's own set-up create roles outside requests: those are visible at once)."""

    def create(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
        role = create_role(self, *args, **kwargs)
        if identity.current() is not None:
            STATE.record(NEW_ROLE, role.arn, _ABSENT)
        return role

    create.coffer_consistency = True  # type: ignore[attr-defined]
    return create


def install() -> None:
    """Record role creations; called by ``patches.install()``; idempotent."""
    if not getattr(IAMBackend.create_role, "coffer_consistency", False):
        IAMBackend.create_role = _recording_create_role(IAMBackend.create_role)  # type: ignore[method-assign]


# ---------------------------------------------------------------- key_policy


def note_key_policy_change(key: "Key") -> None:
    """``PutKeyPolicy`` on ``key`` is about to be served."""
    STATE.record(KEY_POLICY, key.arn, key.policy)


def key_policy(key: "Key") -> Any:
    """The key policy KMS evaluates for ``key`` now."""
    return STATE.visible(KEY_POLICY, key.arn, key.policy)


# -------------------------------------------------------------- vault_policy


def _vault_key(vault: "Vault") -> Hashable:
    # A vault created again with the same name is another vault.
    return (vault.backup_vault_arn, vault.creation_date)


def note_vault_policy_change(vault: "Vault") -> None:
    """The vault's access policy is about to be put or deleted."""
    STATE.record(VAULT_POLICY, _vault_key(vault), vault.access_policy)


def vault_policy(vault: "Vault") -> str | None:
    """The access policy AWS Backup evaluates for ``vault`` now (None: no policy)."""
    value: str | None = STATE.visible(VAULT_POLICY, _vault_key(vault), vault.access_policy)
    return value


# ------------------------------------------------------------- vault_deleted


def note_vault_deleted(vault: "Vault") -> None:
    """``vault`` has just been deleted."""
    STATE.record(VAULT_DELETED, vault.backup_vault_arn, vault)


def vault_being_deleted(vault_arn: str) -> "Vault | None":
    """The deleted vault whose deletion is not visible yet, if any."""
    deleted: Vault | None = STATE.visible(VAULT_DELETED, vault_arn, None)
    return deleted


def vaults_being_deleted(account: str, region: str) -> list["Vault"]:
    """Deleted vaults of the account and Region that may still be listed."""
    prefix = f"arn:aws:backup:{region}:{account}:backup-vault:"
    found = STATE.pending(VAULT_DELETED, lambda key: isinstance(key, str) and key.startswith(prefix))
    return [vault for vault in found if vault is not None]


# ------------------------------------------------------- cross_account_backup


def note_cross_account_backup(management_account: str, region: str, previous: str | None) -> None:
    """``UpdateGlobalSettings`` is about to change ``isCrossAccountBackupEnabled``."""
    STATE.record(CROSS_ACCOUNT_BACKUP, (management_account, region), previous)


def cross_account_backup(management_account: str, region: str, current: str | None) -> str | None:
    """The ``isCrossAccountBackupEnabled`` copy jobs see now."""
    value: str | None = STATE.visible(CROSS_ACCOUNT_BACKUP, (management_account, region), current)
    return value
