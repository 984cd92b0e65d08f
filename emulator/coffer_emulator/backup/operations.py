"""Every operation of the Backup extension on one account's state in one Region, assembled from
its parts: vaults and recovery points, jobs, plans and selections, settings. The HTTP handlers
(``responses.py``) call these; ``backend.py`` adds the routes moto serves them under."""

from typing import cast

from . import state
from .job_operations import JobOperations
from .plan_operations import PlanOperations
from .settings_operations import DEFAULT_GLOBAL_SETTINGS, DEFAULT_REGION_SETTINGS, SettingsOperations


class BackupOperations(JobOperations, PlanOperations, SettingsOperations):
    """moto's Backup backend (tags and report plans stay moto's) with the extension's operations
    and the state they work on."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.vaults = {}
        self.plans = {}
        self.global_settings = dict(DEFAULT_GLOBAL_SETTINGS)
        self.global_settings_updated = None
        self.region_settings = {name: dict(values) for name, values in DEFAULT_REGION_SETTINGS.items()}
        self.backup_jobs = {}
        self.copy_jobs = {}
        self.restore_jobs = {}


def backend(account: str, region: str) -> BackupOperations:
    """The account's Backup backend in ``region``, with every operation of the extension."""
    return cast(BackupOperations, state.backend(account, region))
