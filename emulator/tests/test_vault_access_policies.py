"""Vault access policies evaluated on every vault-scoped Backup call.

A same-account role refused by a ``Deny`` gets ``AccessDeniedException`` (HTTP 403, AWS's message
naming the assumed-role session, the action and the vault or recovery point ARN); the same call
succeeds once the policy no longer denies it. Cross-account access (only
``backup:CopyIntoBackupVault``, through copy jobs) needs an ``Allow``: see test_copy.py.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore import xform_name
from support import (
    BACKUP,
    BACKUP_ROLE,
    ORDERS_ARN,
    REGION,
    SOURCE,
    backup_orders,
    policy_document,
    root,
    source_vault,
    statement,
)

ROLE_ARN = f"arn:aws:iam::{SOURCE}:role/CofferDeployRole"
SESSION_ARN = f"arn:aws:sts::{SOURCE}:assumed-role/CofferDeployRole/coffer-tests"
ADMIN = "OrganizationAccountAccessRole"
VAULT_ARN = f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:local"
SPARE_ARN = f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:spare"
HARMLESS_POLICY = policy_document(
    statement("Allow", {"AWS": root(BACKUP)}, "backup:CopyIntoBackupVault", sid="CopyFromBackup")
)


class Vaults:
    """In the source account: vault ``local`` with one recovery point of ``orders``, an empty
    vault ``spare`` and a destination ``other`` for copies; the tests' role is
    ``CofferDeployRole`` (``backup``), an administrator role of the account (``admin``) is never
    denied by the policies below."""

    def __init__(self, emu: Any):
        self.emu = emu
        self.backup, _ = source_vault(emu)
        self.admin = emu.client("backup", SOURCE, role=ADMIN)
        for name in ("spare", "other"):
            self.backup.create_backup_vault(BackupVaultName=name)
        job, done = backup_orders(emu, self.backup, lifecycle={"DeleteAfterDays": 35})
        assert done["State"] == "COMPLETED"
        self.point = job["RecoveryPointArn"]

    def guard(self, vault: str, action: str, **changes: Any) -> None:
        """Deny ``action`` on ``vault`` to everyone but the administrator role (the shape of
        Coffer's deletion guard; ``changes`` replace its keys), plus the harmless statement."""
        but_admin = {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE}:role/{ADMIN}"}}
        deny = {**statement("Deny", "*", action, but_admin, sid="Guard"), **changes}
        policy = policy_document(deny, *HARMLESS_POLICY["Statement"])
        self.admin.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(policy))

    def unguard(self, vault: str) -> None:
        self.admin.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(HARMLESS_POLICY))


# (action, vault the policy is on, resource named in the refusal, the call as CofferDeployRole)
Call = Callable[[Vaults], Any]
Operation = tuple[str, str, str | None, Call]


def on_vault(action: str, vault: str, **arguments: Any) -> Operation:
    """``action`` on a vault named by ``BackupVaultName``: the refusal names the vault."""
    method = xform_name(action)
    arn = {"local": VAULT_ARN, "spare": SPARE_ARN}[vault]
    return (action, vault, arn, lambda v: getattr(v.backup, method)(BackupVaultName=vault, **arguments))


def on_point(action: str, **arguments: Any) -> Operation:
    """``action`` on the recovery point of vault ``local``: the refusal names the point."""
    method = xform_name(action)
    return (
        action,
        "local",
        None,
        lambda v: getattr(v.backup, method)(BackupVaultName="local", RecoveryPointArn=v.point, **arguments),
    )


OPERATIONS: list[Operation] = [
    on_vault("DescribeBackupVault", "local"),
    on_vault("DeleteBackupVault", "spare"),
    on_vault("PutBackupVaultAccessPolicy", "local", Policy=json.dumps(HARMLESS_POLICY)),
    on_vault("GetBackupVaultAccessPolicy", "local"),
    on_vault("DeleteBackupVaultAccessPolicy", "local"),
    on_vault("PutBackupVaultLockConfiguration", "spare", MinRetentionDays=1),
    on_vault("DeleteBackupVaultLockConfiguration", "spare"),
    on_vault("ListRecoveryPointsByBackupVault", "local"),
    on_point("DescribeRecoveryPoint"),
    on_point("DeleteRecoveryPoint"),
    on_point("UpdateRecoveryPointLifecycle", Lifecycle={"DeleteAfterDays": 40}),
    on_vault("StartBackupJob", "local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE),
    (
        "StartCopyJob",
        "local",
        None,
        lambda v: v.backup.start_copy_job(
            RecoveryPointArn=v.point,
            SourceBackupVaultName="local",
            DestinationBackupVaultArn=f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:other",
            IamRoleArn=BACKUP_ROLE,
        ),
    ),
    (
        "StartRestoreJob",
        "local",
        None,
        lambda v: v.backup.start_restore_job(
            RecoveryPointArn=v.point,
            Metadata={"DBInstanceIdentifier": "orders-restored"},
            IamRoleArn=BACKUP_ROLE,
        ),
    ),
    ("TagResource", "local", VAULT_ARN, lambda v: v.backup.tag_resource(ResourceArn=VAULT_ARN, Tags={"k": "v"})),
    ("UntagResource", "local", VAULT_ARN, lambda v: v.backup.untag_resource(ResourceArn=VAULT_ARN, TagKeyList=["k"])),
    ("ListTags", "local", VAULT_ARN, lambda v: v.backup.list_tags(ResourceArn=VAULT_ARN)),
]


def _denied(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


@pytest.mark.parametrize(("action", "vault", "resource", "call"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_deny_for_a_same_account_role_refuses_the_call(emu, action, vault, resource, call):
    vaults = Vaults(emu)
    if action == "DeleteBackupVaultLockConfiguration":
        vaults.admin.put_backup_vault_lock_configuration(BackupVaultName="spare", MinRetentionDays=1)
    vaults.guard(vault, f"backup:{action}")
    resource = resource or vaults.point

    response = _denied(lambda: call(vaults))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    assert response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": f"User: {SESSION_ARN} is not authorized to perform: backup:{action} on resource: "
        f"{resource} with an explicit deny in a resource-based policy",
    }

    vaults.unguard(vault)
    call(vaults)  # the same call, without the Deny


@pytest.mark.emulator_only(reason="request log: reads the emulator's log of AWS calls")
def test_refused_calls_change_nothing_and_are_logged(emu):
    vaults = Vaults(emu)
    vaults.guard("local", "backup:DeleteRecoveryPoint")
    emu.admin("DELETE", "requests")
    _denied(lambda: vaults.backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point))
    assert vaults.admin.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)
    (logged,) = emu.admin("GET", "requests?operation=DeleteRecoveryPoint")["requests"]
    assert (logged["account"], logged["status"]) == (SOURCE, 403)
    # The administrator role is exempt from the guard.
    vaults.admin.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)


@pytest.mark.parametrize(
    "principal",
    [{"AWS": ROLE_ARN}, {"AWS": SESSION_ARN}, {"AWS": SOURCE}, "*"],
    ids=["role-arn", "session-arn", "account", "everyone"],
)
def test_deny_by_principal(emu, principal):
    vaults = Vaults(emu)
    vaults.guard("local", "backup:DescribeRecoveryPoint", Principal=principal, Condition={})
    response = _denied(
        lambda: vaults.backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)
    )
    assert response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.emulator_only(reason="world: the seed world's organization ID and path are written in the test")
def test_deny_conditions_see_the_callers_organization(emu):
    vaults = Vaults(emu)
    vaults.guard(
        "local",
        "backup:DescribeBackupVault",
        Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-coffer0seed/r-c0ff/ou-c0ff-w0rkload/*"]}},
    )
    _denied(lambda: vaults.backup.describe_backup_vault(BackupVaultName="local"))
    vaults.guard(
        "local", "backup:DescribeBackupVault", Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}}
    )
    vaults.backup.describe_backup_vault(BackupVaultName="local")


def test_a_deny_for_another_principal_does_not_apply(emu):
    vaults = Vaults(emu)
    vaults.guard(
        "local",
        "backup:DeleteRecoveryPoint",
        Principal={"AWS": f"arn:aws:iam::{SOURCE}:role/SomeoneElse"},
        Condition={},
    )
    vaults.backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)


def test_same_account_needs_no_allow(emu):
    """Without a policy, or with one that allows nothing to the caller, the vault's own account
    may use it (its identity policies allow everything in the emulator's identity model)."""
    vaults = Vaults(emu)
    vaults.backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)
    vaults.unguard("local")
    vaults.backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=vaults.point)


def test_another_account_is_refused_whatever_the_policy(emu):
    """AWS Backup rejects cross-account access for every action but backup:CopyIntoBackupVault:
    naming another account's vault with BackupVaultAccountId is refused."""
    Vaults(emu)
    other = emu.client("backup", BACKUP)
    for call, action in (
        (
            lambda: other.describe_backup_vault(BackupVaultName="local", BackupVaultAccountId=SOURCE),
            "DescribeBackupVault",
        ),
        (
            lambda: other.list_recovery_points_by_backup_vault(BackupVaultName="local", BackupVaultAccountId=SOURCE),
            "ListRecoveryPointsByBackupVault",
        ),
    ):
        response = _denied(call)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert response["Error"] == {
            "Code": "AccessDeniedException",
            "Message": f"User: arn:aws:sts::{BACKUP}:assumed-role/CofferDeployRole/coffer-tests is not authorized "
            f"to perform: backup:{action} on resource: {VAULT_ARN} because no resource-based policy allows "
            f"the backup:{action} action",
        }


@pytest.mark.emulator_only(reason="emulator-only feature: plain credentials act as moto's user moto")
def test_plain_credentials_are_the_management_accounts_moto_user(emu):
    backup = emu.client("backup")  # plain credentials: management account
    backup.create_backup_vault(BackupVaultName="mgmt")
    backup.put_backup_vault_access_policy(
        BackupVaultName="mgmt",
        Policy=json.dumps(
            policy_document(
                statement("Deny", {"AWS": "arn:aws:iam::100200300400:user/moto"}, "backup:DescribeBackupVault")
            )
        ),
    )
    response = _denied(lambda: backup.describe_backup_vault(BackupVaultName="mgmt"))
    assert response["Error"]["Message"] == (
        "User: arn:aws:sts::100200300400:user/moto is not authorized to perform: backup:DescribeBackupVault on "
        "resource: arn:aws:backup:eu-west-1:100200300400:backup-vault:mgmt with an explicit deny in a "
        "resource-based policy"
    )


@pytest.mark.emulator_only(reason="emulator-only feature: the answer to operations the emulator does not implement")
def test_unimplemented_operation_is_a_400_naming_it(emu):
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="local")
    response = _denied(lambda: backup.get_backup_vault_notifications(BackupVaultName="local"))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"] == {
        "Code": "InvalidRequestException",
        "Message": "The Coffer emulator does not implement the AWS Backup operation GetBackupVaultNotifications.",
    }
    response = _denied(lambda: backup.list_frameworks())
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "ListFrameworks" in response["Error"]["Message"]
