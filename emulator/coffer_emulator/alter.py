"""Silent changes on write (``faults.alter_on_write``): the emulator stores something other than
what the call asked for, and answers as if it had stored the request, as a service that
normalises or rewrites a document would. A client that reads back what it wrote sees the
difference.

One alteration per supported operation, each a change of meaning:

* ``backup:PutBackupVaultAccessPolicy``: one more statement (the account's root may describe
  the vault);
* ``backup:PutBackupVaultLockConfiguration``: a compliance lock (one with ``ChangeableForDays``)
  stored without it, as a governance lock anyone allowed may remove; any other lock with
  ``MinRetentionDays`` one day longer;
* ``backup:CreateBackupPlan``: the first rule's schedule becomes ``cron(0 1 ? * * *)``;
* ``backup:CreateBackupSelection``: one more resource ARN.
"""

import io
import json
from collections.abc import Callable
from typing import Any

from .wire import Call

ALTERED_SCHEDULE = "cron(0 1 ? * * *)"


def _vault_policy(body: dict[str, Any], call: Call, account: str) -> None:
    policy = json.loads(body["Policy"])
    statements = policy.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    statements.append(
        {
            "Sid": "AlteredOnWrite",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "backup:DescribeBackupVault",
            "Resource": "*",
        }
    )
    policy["Statement"] = statements
    body["Policy"] = json.dumps(policy)


def _vault_lock(body: dict[str, Any], call: Call, account: str) -> None:
    if body.pop("ChangeableForDays", None) is None:
        body["MinRetentionDays"] = int(body.get("MinRetentionDays") or 1) + 1


def _backup_plan(body: dict[str, Any], call: Call, account: str) -> None:
    body["BackupPlan"]["Rules"][0]["ScheduleExpression"] = ALTERED_SCHEDULE


def _selection(body: dict[str, Any], call: Call, account: str) -> None:
    selection = body["BackupSelection"]
    altered = f"arn:aws:rds:{call.region}:{account}:db:altered-on-write"
    selection["Resources"] = [*selection.get("Resources", []), altered]


ALTERATIONS: dict[str, Callable[[dict[str, Any], Call, str], None]] = {
    "backup:PutBackupVaultAccessPolicy": _vault_policy,
    "backup:PutBackupVaultLockConfiguration": _vault_lock,
    "backup:CreateBackupPlan": _backup_plan,
    "backup:CreateBackupSelection": _selection,
}


def rewrite(call: Call, environ: dict[str, Any], body: bytes, account: str) -> None:
    """Replace the request body moto will read with its altered form."""
    document = json.loads(body or b"{}")
    ALTERATIONS[f"{call.service}:{call.operation}"](document, call, account)
    altered = json.dumps(document).encode()
    environ["wsgi.input"] = io.BytesIO(altered)
    environ["CONTENT_LENGTH"] = str(len(altered))
