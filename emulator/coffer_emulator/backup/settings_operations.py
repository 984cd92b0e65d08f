"""The account's Backup settings: the organization-wide global settings and the Region's
resource type preferences (``SettingsOperations``, part of the backend)."""

from datetime import datetime
from typing import Any

from moto.backup.models import BackupBackend

from .. import consistency, orgs
from ..clock import CLOCK
from . import state
from .errors import InvalidParameterValue, InvalidRequest, NotInOrganization

# GlobalSettings keys and their values ("true"/"false" strings).
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html]
DEFAULT_GLOBAL_SETTINGS = {
    "isCrossAccountBackupEnabled": "false",
    "isMpaEnabled": "false",
    "isDelegatedAdministratorEnabled": "false",
}


# DescribeRegionSettings of a new account (the emulator's defaults: AWS does not document them).
# Keys are the resource types of BOTO-BACKUP ListBackupJobs.ByResourceType.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRegionSettings.html]
OPT_IN_RESOURCE_TYPES = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "EKS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)
DEFAULT_REGION_SETTINGS: dict[str, dict[str, bool]] = {
    "ResourceTypeOptInPreference": dict.fromkeys(OPT_IN_RESOURCE_TYPES, True),
    "ResourceTypeManagementPreference": {"DynamoDB": True, "EFS": True},
    "ResourceTypeOptInIncremental": {"DynamoDB": False},
}


class SettingsOperations(BackupBackend):
    """The backend's global settings (read from the management account) and Region settings."""

    global_settings: dict[str, str]
    global_settings_updated: datetime | None
    region_settings: dict[str, dict[str, bool]]

    # -------------------------------------------------------- global settings

    def describe_global_settings(self) -> tuple[dict[str, str], datetime | None]:
        """DescribeGlobalSettings errors outside an organization; inside one it reports the
        settings the management account set (members see the organization's setting).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html]
        """
        membership = orgs.membership(self.account_id)
        if membership is None:
            raise NotInOrganization()
        management = state.backend(membership.management_account, self.region_name)
        return dict(management.global_settings), management.global_settings_updated

    def update_global_settings(self, settings: dict[str, str] | None) -> None:
        """UpdateGlobalSettings returns an error unless the caller is the organization's
        management account. [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateGlobalSettings.html]
        """
        membership = orgs.membership(self.account_id)
        if membership is None:
            raise NotInOrganization()
        if membership.management_account != self.account_id:
            raise InvalidRequest(
                f"Account {self.account_id} is not the management account of organization "
                f"{membership.org_id}; only the management account "
                f"{membership.management_account} can update global settings."
            )
        for key, value in (settings or {}).items():
            if key not in DEFAULT_GLOBAL_SETTINGS:
                raise InvalidParameterValue(f"Unsupported global setting: {key}")
            if value not in ("true", "false"):
                raise InvalidParameterValue(f"Global setting {key} must be 'true' or 'false', not {value!r}")
        if "isCrossAccountBackupEnabled" in (settings or {}):
            consistency.note_cross_account_backup(
                self.account_id, self.region_name, self.global_settings.get("isCrossAccountBackupEnabled")
            )
        self.global_settings.update(settings or {})
        self.global_settings_updated = CLOCK.now()

    # -------------------------------------------------------- region settings

    def describe_region_settings(self) -> dict[str, dict[str, bool]]:
        """DescribeRegionSettings: the Region's service opt-in, full-management and incremental
        preferences per resource type (the resource types it lists are the ones
        UpdateRegionSettings accepts). The defaults are the emulator's (AWS's are not documented).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRegionSettings.html]
        """
        return {name: dict(values) for name, values in self.region_settings.items()}

    def update_region_settings(self, preferences: dict[str, dict[str, Any] | None]) -> None:
        """UpdateRegionSettings: only the resource types DescribeRegionSettings lists, with boolean
        values (InvalidParameterValueException otherwise; the message is the emulator's).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateRegionSettings.html]
        """
        for name, update in preferences.items():
            for resource_type, value in (update or {}).items():
                if resource_type not in self.region_settings[name]:
                    raise InvalidParameterValue(
                        f"Invalid {name}: unsupported resource type {resource_type}; supported: "
                        f"{', '.join(sorted(self.region_settings[name]))}"
                    )
                if not isinstance(value, bool):
                    raise InvalidParameterValue(f"Invalid {name}: the value of {resource_type} must be a boolean")
        for name, update in preferences.items():
            self.region_settings[name].update(update or {})
