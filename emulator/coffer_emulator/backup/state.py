"""Typed access to moto's Backup state, whose backends are ``CofferBackupBackend`` once
``coffer_emulator.patches.install()`` has run."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from moto.backup.models import backup_backends

if TYPE_CHECKING:
    from .backend import CofferBackupBackend


def backend(account: str, region: str) -> "CofferBackupBackend":
    return backup_backends[account][region]  # type: ignore[return-value]


def all_backends() -> Iterator["CofferBackupBackend"]:
    for _account, _region, found in list(backup_backends.iter_backends()):
        yield found  # type: ignore[misc]
