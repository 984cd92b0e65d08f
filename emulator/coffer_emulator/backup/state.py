"""Typed access to moto's Backup state, whose backends are ``CofferBackupBackend`` once
``coffer_emulator.patches.install()`` has run.

The backends are typed by what is read across accounts and Regions (``RegionBackups``): jobs,
copy rules and organization-wide reads reach other accounts' state through it without importing
the backend class, which imports them. ``operations.backend`` gives the whole backend."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from moto.backup.models import backup_backends
from moto.utilities.tagging_service import TaggingService

from .models import Vault

VAULT_ARN = re.compile(r"^arn:aws:backup:(?P<region>[^:]+):(?P<account>\d{12}):backup-vault:(?P<name>[^:]+)$")


class RegionBackups(Protocol):
    """One account's Backup state in one Region, as other accounts and Regions see it."""

    vaults: dict[str, Vault]
    global_settings: dict[str, str]
    global_settings_updated: datetime | None
    tagger: TaggingService


def backend(account: str, region: str) -> RegionBackups:
    return backup_backends[account][region]  # type: ignore[return-value]


@dataclass(frozen=True)
class VaultAddress:
    """A vault named by its ARN, in whichever account and Region it is."""

    arn: str
    account: str
    region: str
    name: str

    @classmethod
    def parse(cls, arn: str | None) -> "VaultAddress | None":
        """The address of a vault ARN, or None when ``arn`` is not one."""
        match = VAULT_ARN.match(arn or "")
        return cls(match.string, match["account"], match["region"], match["name"]) if match else None

    def vault(self) -> Vault | None:
        """The vault, if it exists."""
        return backend(self.account, self.region).vaults.get(self.name)
