"""The Backup backend moto serves, extended with the operations Coffer depends on.

``CofferBackupBackend`` replaces the class of moto's ``backup_backends`` (see
``coffer_emulator.patches``), so every account and Region gets one and moto's remaining
handlers (tags, report plans) keep working on the same state. Its operations are
``BackupOperations`` (``operations.py``); this class adds the HTTP routes moto serves them under.
"""

from typing import Any

from . import urls
from .operations import BackupOperations


class CofferBackupBackend(BackupOperations):
    @property
    def _url_module(self) -> Any:
        """moto derives its Flask routes from this module (``url_bases`` / ``url_paths``)."""
        return urls
