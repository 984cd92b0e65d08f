"""Prerequisites of an AWS Backup copy job, checked in a fixed order when the job runs.

A cross-account copy must pass, in this order (the first failure ends the job as ``FAILED``
with that rule's ``StatusMessage``):

(a) both accounts belong to the same organization;
(b) cross-account backup is enabled in the organization's management account;
(c) the destination vault is not the ``Default`` vault;
    the destination vault must also exist;
(d) the destination vault's access policy allows ``backup:CopyIntoBackupVault`` to the source;
    the source account itself must be able to use the recovery point's key (its key policy
    neither denies the job's role nor lacks an allow for it);
(e) the recovery point's KMS key is a customer managed key whose key policy lets the
    destination account use it;
    for a resource type AWS Backup does not fully manage (RDS), the destination vault's key is
    a customer managed key too (not ``aws/backup``);
    the destination vault's key lets the destination use it.

A copy inside one account (e.g. cross-Region) needs the destination vault to exist and both
keys to be usable by the account. Where AWS's own wording of a failure is known it is used;
otherwise the message is the emulator's and names the cause.  The destination vault's lock
bounds are checked after these rules, by the job itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import authz, consistency, identity, keys, kms_use, orgs, policy
from . import state
from .models import Vault

COPY_INTO_VAULT = "backup:CopyIntoBackupVault"
# The minimal key permissions the destination account needs on a shared source key
# (docs/aws-behaviour.md section 1.3: at least kms:DescribeKey, kms:Decrypt and kms:CreateGrant).
REQUIRED_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant")
# What the destination vault's key must allow AWS Backup (docs/aws-behaviour.md section 1.4: at least
# kms:CreateGrant, kms:GenerateDataKey and kms:Decrypt).
DESTINATION_KEY_ACTIONS = ("kms:CreateGrant", "kms:GenerateDataKey", "kms:Decrypt")


@dataclass(frozen=True)
class CopyAttempt:
    """What a copy job needs to know to check its prerequisites."""

    source_account: str
    source_region: str
    destination: state.VaultAddress
    iam_role_arn: str
    recovery_point_key_arn: str | None  # None: the recovery point is not encrypted
    resource_type: str = "RDS"  # of the recovery point (BOTO-BACKUP ResourceType)

    @property
    def cross_account(self) -> bool:
        return self.source_account != self.destination.account

    def destination_vault(self) -> Vault:
        """The destination vault, once ``destination_vault_exists`` has passed."""
        vault = self.destination.vault()
        assert vault is not None  # checked by destination_vault_exists
        return vault


def first_failure(attempt: CopyAttempt) -> str | None:
    """The ``StatusMessage`` of the first prerequisite the copy misses, or None if it may proceed."""
    rules: tuple[Callable[[CopyAttempt], str | None], ...]
    if attempt.cross_account:
        rules = (
            same_organization,
            cross_account_backup_enabled,
            not_default_vault,
            destination_vault_exists,
            vault_policy_allows_copy,
            source_key_usable_by_source,
            source_key_shared,
            destination_key_customer_managed,
            destination_key_usable,
        )
    else:
        rules = (destination_vault_exists, source_key_usable_by_source, destination_key_usable)
    for rule in rules:
        message = rule(attempt)
        if message is not None:
            return message
    return None


def same_organization(attempt: CopyAttempt) -> str | None:
    """(a) Source and destination accounts must belong to the same AWS Organization.

    AWS's message, verbatim.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html]
    [source: https://repost.aws/knowledge-center/backup-troubleshoot-cross-account-copy]
    """
    source = orgs.membership(attempt.source_account)
    destination = orgs.membership(attempt.destination.account)
    if source is None or destination is None or source.org_id != destination.org_id:
        return "Copy job failed. Both source and destination account must be a member of the same organization"
    return None


def cross_account_backup_enabled(attempt: CopyAttempt) -> str | None:
    """(b) Cross-account backup must be turned on by the organization's management account.

    The setting is ``isCrossAccountBackupEnabled`` of ``UpdateGlobalSettings``; it is read
    from the management account in the copy's source Region (the API is regional; whether
    the setting is per Region is UNCONFIRMED in docs/aws-behaviour.md section 1.1).
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html]
    """
    membership = orgs.membership(attempt.source_account)
    assert membership is not None  # checked by same_organization
    settings = state.backend(membership.management_account, attempt.source_region).global_settings
    enabled = consistency.cross_account_backup(  # the previous setting while a change propagates
        membership.management_account, attempt.source_region, settings.get("isCrossAccountBackupEnabled")
    )
    if enabled != "true":
        return (
            "Copy job failed. Cross-account backup is not enabled for the organization: the "
            f"management account {membership.management_account} must turn on "
            "isCrossAccountBackupEnabled (UpdateGlobalSettings)."
        )
    return None


def not_default_vault(attempt: CopyAttempt) -> str | None:
    """(c) The destination of a cross-account copy cannot be the ``Default`` vault.

    The default vault's key cannot be shared with other accounts.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html]
    """
    if attempt.destination.name == "Default":
        return (
            "Copy job failed. The destination of a cross-account copy cannot be the Default "
            "backup vault, because its key cannot be shared with other accounts."
        )
    return None


def destination_vault_exists(attempt: CopyAttempt) -> str | None:
    """The destination account must have the destination vault in the destination Region.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html]
    """
    if attempt.destination.vault() is None:
        return f"Copy job failed. Destination backup vault {attempt.destination.arn} does not exist."
    return None


def vault_policy_allows_copy(attempt: CopyAttempt) -> str | None:
    """(d) The destination vault's access policy must allow ``backup:CopyIntoBackupVault`` to the source.

    Accepted principals are the ones AWS documents: the source account root ARN (or bare
    account ID), a role ARN, or ``"*"`` restricted by ``aws:PrincipalOrgID`` or
    ``aws:PrincipalOrgPaths``. An ``Allow`` for ``"*"`` without such a condition does not
    count: with ``"*"`` the org ID or OU path must be present, or cross-account copies fail.
    An explicit Deny wins. AWS reports a denied copy as
    ``Access Denied trying to call AWS Backup service``.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html#share-vault-cab]
    [source: https://repost.aws/knowledge-center/backup-resolve-access-denied-error]
    """
    vault = attempt.destination_vault()
    prefix = "Access Denied trying to call AWS Backup service: "
    access_policy = consistency.vault_policy(vault)  # the previous policy while a change propagates
    if access_policy is None:
        return prefix + f"destination vault {vault.backup_vault_arn} has no access policy allowing {COPY_INTO_VAULT}."
    source = identity.for_role(attempt.iam_role_arn, attempt.source_account)
    request = authz.request_for(source, COPY_INTO_VAULT, vault.backup_vault_arn)
    verdict = authz.decide(_org_scoped_wildcards_only(access_policy), request, attempt.destination.account)
    if verdict.allowed:
        return None
    how = "explicitly denies" if verdict.explicit_deny else "does not allow"
    return (
        prefix + f"the access policy of destination vault {vault.backup_vault_arn} {how} "
        f"{COPY_INTO_VAULT} for source account {attempt.source_account}."
    )


ORG_CONDITION_KEYS = {"aws:principalorgid", "aws:principalorgpaths"}


def _org_scoped_wildcards_only(document: str) -> dict[str, Any]:
    """The vault access policy without ``Allow`` statements for ``"*"`` that lack an org condition."""

    def unscoped_wildcard_allow(statement: dict[str, Any]) -> bool:
        principal = statement.get("Principal")
        wildcard = principal == "*" or (isinstance(principal, dict) and "*" in policy.as_list(principal.get("AWS")))
        keys = {key.lower() for entries in statement.get("Condition", {}).values() for key in entries}
        return statement.get("Effect") == "Allow" and wildcard and not keys & ORG_CONDITION_KEYS

    parsed = policy.parse(document)
    return {**parsed, "Statement": [s for s in policy.statements(parsed) if not unscoped_wildcard_allow(s)]}


def source_key_shared(attempt: CopyAttempt) -> str | None:
    """(e) The recovery point's key must be a customer managed key shared with the destination.

    RDS is not fully managed by AWS Backup, so its recovery points keep the source DB's key
    and a cross-account copy needs that key to be a customer managed key (``KeyManager``
    ``CUSTOMER``) whose policy allows the destination account (its root ARN, its ID, or
    ``"*"`` with an org condition): here at least ``kms:Decrypt``, ``kms:DescribeKey`` and
    ``kms:CreateGrant`` (wildcards such as ``kms:*`` count). AWS managed keys (``aws/rds``)
    can never be shared. The message starts with the error AWS reports for RDS snapshots.
    Unencrypted recovery points pass (AWS Backup encrypts the copy with the destination
    vault's key).
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
    [source: https://repost.aws/knowledge-center/backup-cross-account-copy]
    [source: https://github.com/awslabs/aurora-snapshot-tool/issues/26]
    """
    key_arn = attempt.recovery_point_key_arn
    if key_arn is None:
        return None
    prefix = _source_key_failure(key_arn)
    key = keys.find_key(key_arn, attempt.source_account, attempt.source_region)
    if key is None:
        return prefix + "(The key does not exist.)"
    if key.key_state != "Enabled":
        return prefix + f"(The key is in state {key.key_state}.)"
    if key.key_manager != "CUSTOMER":
        return prefix + (
            "(It is an AWS managed key (KeyManager AWS); AWS managed keys cannot be shared with "
            "another account. Encrypt the source with a customer managed key.)"
        )
    cause = kms_use.refusal(
        key.arn,
        _destination_backup_service(attempt),
        f"destination account {attempt.destination.account}",
        REQUIRED_KEY_ACTIONS,
        kms_use.via("backup", attempt.source_region),
    )
    return prefix + cause if cause else None


def source_key_usable_by_source(attempt: CopyAttempt) -> str | None:
    """The source account must be able to use its recovery point's key for the copy: RDS copies
    the snapshot for AWS Backup with the job's role, so the key policy is evaluated for that role
    (``kms:ViaService`` RDS); a ``Deny`` on it, or no ``Allow``, fails the copy. A key that no
    longer exists is left to rule (e) (cross-account) or passes (the emulator's deferred alias
    binding). [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#backup-permissions-grants-deny-statements]
    """
    key_arn = attempt.recovery_point_key_arn
    if key_arn is None:
        return None
    cause = kms_use.refusal(
        key_arn,
        identity.job_role(attempt.iam_role_arn, attempt.source_account),
        f"source account {attempt.source_account} (role {attempt.iam_role_arn})",
        REQUIRED_KEY_ACTIONS,
        kms_use.via("rds", attempt.source_region),
        missing_key_ok=True,
    )
    return _source_key_failure(key_arn) + cause if cause else None


def _source_key_failure(key_arn: str) -> str:
    """The start of the message of a copy that cannot use its source key: AWS's error for RDS
    snapshots; the cause in parentheses follows."""
    return (
        f"The source snapshot KMS key [{key_arn}] does not exist, is not enabled or you do not "
        "have permissions to access it. "
    )


# Resource types whose backups AWS Backup does not encrypt independently (they keep the source
# resource's encryption): docs/aws-behaviour.md section 1.2.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html]
NOT_FULLY_MANAGED_TYPES = {"RDS", "Aurora", "DocumentDB", "Neptune", "EBS", "EC2", "FSx", "Storage Gateway", "Redshift"}


def destination_key_customer_managed(attempt: CopyAttempt) -> str | None:
    """A cross-account copy of a resource type AWS Backup does not fully manage (RDS) needs a
    destination vault encrypted with a customer managed key: a vault on an AWS managed key
    (``aws/backup``, the default of ``CreateBackupVault``) fails the copy when it runs (the API
    accepts the job). The message is the emulator's (AWS's wording is not documented).
    [source: https://aws.amazon.com/blogs/storage/how-encryption-works-in-aws-backup/ ("For
    cross-account copies to complete successfully for a data source that does not support AWS
    Backup encryption, it is necessary to encrypt both the data source and the destination backup
    vault with a customer managed AWS KMS key")]
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
    """
    if attempt.resource_type not in NOT_FULLY_MANAGED_TYPES:
        return None
    vault = attempt.destination_vault()
    key = keys.find_key(vault.encryption_key_arn, attempt.destination.account, attempt.destination.region)
    if key is None or key.key_manager == "CUSTOMER":
        return None  # a missing key is destination_key_usable's failure
    return (
        f"Copy job failed. The destination backup vault {vault.backup_vault_arn} is encrypted with the AWS "
        f"managed key [{key.arn}] ({', '.join(key.aliases) or 'KeyManager AWS'}): a cross-account copy of a "
        f"{attempt.resource_type} recovery point (a resource type AWS Backup does not fully manage) needs a "
        "destination vault encrypted with a customer managed key."
    )


def destination_key_usable(attempt: CopyAttempt) -> str | None:
    """The copy is re-encrypted with the destination vault's key, which must let AWS Backup use
    it for the destination account (its ``AWSServiceRoleForBackup`` for a cross-account copy,
    the job's role within one account): at least ``kms:CreateGrant``, ``kms:GenerateDataKey``
    and ``kms:Decrypt``, with ``kms:ViaService`` Backup in the destination Region. The message is
    the emulator's (AWS's wording is not documented).
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
    """
    vault = attempt.destination_vault()
    if attempt.cross_account:
        principal = _destination_backup_service(attempt)
    else:
        principal = identity.job_role(attempt.iam_role_arn, attempt.destination.account)
    cause = kms_use.refusal(
        vault.encryption_key_arn,
        principal,
        f"destination account {attempt.destination.account}",
        DESTINATION_KEY_ACTIONS,
        kms_use.via("backup", attempt.destination.region),
    )
    if cause is None:
        return None
    return (
        f"Copy job failed. The destination backup vault key [{vault.encryption_key_arn}] does not exist, "
        f"is not enabled or you do not have permissions to access it. {cause}"
    )


def _destination_backup_service(attempt: CopyAttempt) -> identity.Caller:
    """AWS Backup's service-linked role in the destination account, which performs copies for it."""
    account = attempt.destination.account
    role = f"arn:aws:iam::{account}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup"
    return identity.for_role(role, account)
