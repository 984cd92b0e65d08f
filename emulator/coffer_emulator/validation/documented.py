"""Rules beyond the botocore model: the ones AWS documents for a member but the model does not
carry (``DOCUMENTED``), and the typed restore metadata the emulator's restore jobs read."""

import re
from typing import Any

from .. import wire
from .violations import Key, Violation

# Rules AWS documents for a member but the botocore model does not carry, per service and
# member name: {"min", "max", "pattern"} as the model would state them.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
#  ("If used, this parameter must contain 1 to 50 alphanumeric or '-_.' characters.", the same
#  sentence on every Backup operation with a CreatorRequestId)]
# ``ByAccountId`` of the job lists: an account ID, or ``*`` from the management account for every
# account of the organization, although the model's pattern is ``^[0-9]{12}$``.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html
#  ("If used from an AWS Organizations management account, passing * returns all jobs across
#  the organization.")]
DOCUMENTED: dict[tuple[str, str], dict[str, Any]] = {
    ("backup", "CreatorRequestId"): {"min": 1, "max": 50, "pattern": r"^[a-zA-Z0-9\-\_\.]+$"},
    ("backup", "ByAccountId"): {"pattern": r"^([0-9]{12}|\*)$"},
}


# The restore metadata keys the emulator's restore jobs turn into numbers and booleans (keys are
# case-insensitive there, see backup/jobs.py): a value that is not one is refused at the call
# instead of failing the job later. The emulator's rule: AWS's wording is not documented.
RESTORE_INTEGERS = ("port", "allocatedstorage")
RESTORE_BOOLEANS = ("multiaz", "publiclyaccessible")


def restore_metadata_violations(call: wire.Call, params: dict[str, Any]) -> list[Violation]:
    """Backup ``StartRestoreJob``: ``Metadata`` values the restore reads as numbers/booleans."""
    metadata = params.get("Metadata")
    if call.service != "backup" or call.operation != "StartRestoreJob" or not isinstance(metadata, dict):
        return []
    found: list[Violation] = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        lowered = key.lower()
        if lowered in RESTORE_INTEGERS and not re.fullmatch(r"[0-9]{1,9}", value):
            text = f"Restore metadata {key} must be a whole number"
        elif lowered in RESTORE_BOOLEANS and value.lower() not in ("true", "false"):
            text = f"Restore metadata {key} must be true or false"
        else:
            continue
        found.append(Violation(("Metadata", Key(key)), "Metadata", "type", text, value, type_name="string"))
    return found
