"""Vaults and what they hold: creation and deletion, the vault access policy that authorizes every
vault-scoped call, Vault Lock, and the recovery points (``VaultOperations``, part of the backend)."""

import re
import threading
from typing import Any

from moto.backup.models import BackupBackend

from .. import authz, consistency, identity, keys
from ..clock import CLOCK
from ..policy import has_wildcard_action, statements
from . import lifecycle as lifecycles
from .errors import (
    AccessDenied,
    AlreadyExists,
    InvalidParameterValue,
    InvalidRequest,
    MissingParameterValue,
    ResourceNotFound,
)
from .models import RecoveryPoint, Vault, VaultLock, vault_arn

VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-\_]{2,50}$")  # BOTO-BACKUP BackupVaultName
RDS_DB_ARN = re.compile(r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):db:(?P<id>[^:]+)$")

# The server is threaded: a vault name's existence check and the vault's creation must be one
# step, or two concurrent CreateBackupVault calls for one name both succeed (AWS lets exactly
# one of them create it; the other gets AlreadyExistsException).
_CREATE_VAULT_LOCK = threading.Lock()


class VaultOperations(BackupBackend):
    """The backend's vaults by name, with their access policies, locks and recovery points."""

    vaults: dict[str, Vault]  # type: ignore[assignment]

    # ----------------------------------------------------------------- vaults

    def create_backup_vault(  # type: ignore[override]
        self,
        backup_vault_name: str,
        backup_vault_tags: dict[str, str] | None,
        encryption_key_arn: str | None,
        creator_request_id: str | None,
        strict_key: bool = False,
    ) -> Vault:
        """CreateBackupVault. The same ``CreatorRequestId`` returns the existing vault (idempotent
        retry); without a key AWS Backup uses the AWS managed key ``aws/backup``.
        [source: BOTO-BACKUP CreateBackupVault; https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html]

        ``strict_key`` (API calls): ``EncryptionKeyArn`` must be an existing key's ARN, as AWS
        requires (see ``check_vault_key_arn``); world files may also name a key by id or alias.
        """
        if not VAULT_NAME.match(backup_vault_name or ""):
            raise InvalidParameterValue(f"Invalid backup vault name: {backup_vault_name}")
        if strict_key and encryption_key_arn:
            self.check_vault_key_arn(encryption_key_arn)
        with _CREATE_VAULT_LOCK:
            existing = self.vaults.get(backup_vault_name)
            if existing is not None:
                if creator_request_id and creator_request_id == existing.creator_request_id:
                    return existing
                raise AlreadyExists("Backup vault with the same name already exists")
            if consistency.vault_being_deleted(vault_arn(self.account_id, self.region_name, backup_vault_name)):
                # The name stays taken while a deletion propagates (consistency.py, vault_deleted).
                raise AlreadyExists("Backup vault with the same name already exists")
            vault = Vault(
                self.account_id,
                self.region_name,
                backup_vault_name,
                self._vault_key_arn(encryption_key_arn),
                creator_request_id,
            )
            self.vaults[backup_vault_name] = vault
            if backup_vault_tags:
                self.tag_resource(vault.backup_vault_arn, backup_vault_tags)
            return vault

    def check_vault_key_arn(self, encryption_key_arn: str) -> None:
        """Refuse an ``EncryptionKeyArn`` AWS Backup does not accept (InvalidParameterValueException).

        * an alias (name or ARN): ``KMS key Alias is not supported by AWS Backup`` (AWS's message);
          [source: https://github.com/aws/aws-cdk/issues/10979 (Status Code: 400; Error Code:
          InvalidParameterValueException)]
        * anything but a key ARN (a bare key id, say): the parameter is a key ARN;
          [source: BOTO-BACKUP CreateBackupVault.EncryptionKeyArn; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-backup-backupvault.html]
        * a key of another Region: KMS keys are Regional and the vault's key encrypts in the
          vault's Region; [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
        * a key that does not exist, in the vault's account or another one (a key of another
          account is allowed through the API). [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html]

        The messages but the alias one are the emulator's (AWS's wording is not documented).
        """
        if encryption_key_arn.startswith("alias/") or keys.ALIAS_ARN.match(encryption_key_arn):
            raise InvalidParameterValue("KMS key Alias is not supported by AWS Backup")
        match = keys.KEY_ARN.match(encryption_key_arn)
        if match is None or "/" in match["id"]:
            raise InvalidParameterValue(
                f"Invalid EncryptionKeyArn {encryption_key_arn}: it must be the ARN of a KMS key "
                "(arn:aws:kms:<region>:<account>:key/<key-id>)"
            )
        if match["region"] != self.region_name:
            raise InvalidParameterValue(
                f"Invalid EncryptionKeyArn {encryption_key_arn}: the KMS key is in Region {match['region']}, "
                f"the backup vault in {self.region_name}; a vault needs a key of its own Region"
            )
        if keys.find_key(encryption_key_arn, self.account_id, self.region_name) is None:
            raise InvalidParameterValue(f"Invalid EncryptionKeyArn: KMS key {encryption_key_arn} not found")

    def _vault_key_arn(self, encryption_key_arn: str | None) -> str:
        if not encryption_key_arn:
            return keys.aws_managed_key(self.account_id, self.region_name, "backup").arn
        location = keys.locate(encryption_key_arn, self.account_id, self.region_name)
        if location.account != self.account_id:
            return encryption_key_arn  # another account's key: only that account can resolve it
        key = keys.find_key(encryption_key_arn, self.account_id, self.region_name)
        if key is None:
            raise InvalidParameterValue(f"Invalid EncryptionKeyArn: KMS key {encryption_key_arn} not found")
        return key.arn

    # ---------------------------------------------------------- authorization

    def _vault(self, backup_vault_name: str) -> Vault:
        vault = self.vaults.get(backup_vault_name)
        if vault is None:
            raise ResourceNotFound(f"Backup vault {backup_vault_name} does not exist")
        return vault

    def authorize(self, vault: Vault, action: str, resource_arn: str | None = None) -> None:
        """Refuse the current caller ``backup:<action>`` on ``resource_arn`` (default: the vault)
        when the vault's access policy denies it: an explicit ``Deny`` for any caller, and no
        ``Allow`` for a caller of another account. Calls made outside a signed request (world
        loading, jobs) are not checked here. [source: authz.py]
        """
        caller = identity.current()
        if caller is None:
            return
        resource = resource_arn or vault.backup_vault_arn
        iam_action = f"backup:{action}"
        document = consistency.vault_policy(vault)  # the previous policy while a change propagates
        verdict = authz.decide(document, authz.request_for(caller, iam_action, resource), self.account_id)
        if not verdict.allowed:
            raise AccessDenied(verdict.message(caller.caller_arn, iam_action, resource))

    def authorized_vault(self, backup_vault_name: str, action: str, resource_arn: str | None = None) -> Vault:
        """The vault, once the caller may do ``backup:<action>`` on it (or on ``resource_arn``)."""
        vault = self._vault(backup_vault_name)
        self.authorize(vault, action, resource_arn)
        return vault

    def authorize_arn(self, resource_arn: str, action: str) -> None:
        """``backup:<action>`` on a vault or recovery point named by ARN (tag operations):
        checked against the policy of the vault that is, or holds, the resource."""
        for vault in self.vaults.values():
            if resource_arn == vault.backup_vault_arn or resource_arn in vault.recovery_points:
                self.authorize(vault, action, resource_arn)
                return

    def refuse_other_account(self, vault_account_id: str | None, backup_vault_name: str, action: str) -> None:
        """``BackupVaultAccountId`` naming another account: AWS Backup rejects cross-account
        access for every action but ``backup:CopyIntoBackupVault``, whatever the vault's policy.
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html]
        """
        caller = identity.current()
        if caller is None or not vault_account_id or vault_account_id == self.account_id:
            return
        resource = vault_arn(vault_account_id, self.region_name, backup_vault_name)
        raise AccessDenied(authz.denial_message(caller.caller_arn, f"backup:{action}", resource, explicit=False))

    # ----------------------------------------------------------------- vaults

    def describe_backup_vault(self, backup_vault_name: str) -> Vault:  # type: ignore[override]
        return self.authorized_vault(backup_vault_name, "DescribeBackupVault")

    def list_backup_vaults(self) -> list[Vault]:  # type: ignore[override]
        # A deleted vault may still be listed while its deletion propagates (consistency.py).
        return list(self.vaults.values()) + consistency.vaults_being_deleted(self.account_id, self.region_name)

    def delete_backup_vault(self, backup_vault_name: str) -> None:
        """DeleteBackupVault works only on an empty vault (locked or not).
        [source: BOTO-BACKUP DeleteBackupVault; https://github.com/gruntwork-io/cloud-nuke/issues/730]
        """
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVault")
        if vault.recovery_points:
            raise InvalidRequest("Backup vault cannot be deleted because it contains recovery points.", "ERROR_9101")
        del self.vaults[backup_vault_name]
        consistency.note_vault_deleted(vault)
        self.tagger.delete_all_tags_for_resource(vault.backup_vault_arn)

    def put_backup_vault_access_policy(self, backup_vault_name: str, policy_document: str | None) -> None:
        """PutBackupVaultAccessPolicy. AWS Backup access policies don't support a wildcard in
        ``Action`` (AWS does not document the error; the emulator answers InvalidParameterValue).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html]
        """
        vault = self.authorized_vault(backup_vault_name, "PutBackupVaultAccessPolicy")
        if not policy_document:
            raise MissingParameterValue("Policy")
        try:
            parsed = statements(policy_document)
        except ValueError as error:
            raise InvalidParameterValue(f"Invalid policy document: {error}") from error
        for index, statement in enumerate(parsed):
            if has_wildcard_action(statement):
                raise InvalidParameterValue(
                    "AWS Backup access policies don't support a wildcard in the Action key "
                    f"(statement {statement.get('Sid', index)})."
                )
        consistency.note_vault_policy_change(vault)
        vault.access_policy = policy_document

    def get_backup_vault_access_policy(self, backup_vault_name: str) -> Vault:
        vault = self.authorized_vault(backup_vault_name, "GetBackupVaultAccessPolicy")
        if vault.access_policy is None:
            raise ResourceNotFound(f"Backup vault {backup_vault_name} has no access policy")
        return vault

    def delete_backup_vault_access_policy(self, backup_vault_name: str) -> None:
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVaultAccessPolicy")
        consistency.note_vault_policy_change(vault)
        vault.access_policy = None

    def put_backup_vault_lock_configuration(
        self,
        backup_vault_name: str,
        min_retention_days: int | None,
        max_retention_days: int | None,
        changeable_for_days: int | None,
    ) -> None:
        """PutBackupVaultLockConfiguration: governance mode without ``ChangeableForDays``,
        compliance mode (``LockDate`` = now + ``ChangeableForDays``) with it; refused from
        ``LockDate`` on. Bounds: Min >= 1, Max <= 36500, ChangeableForDays 3..36500.
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html]
        """
        vault = self.authorized_vault(backup_vault_name, "PutBackupVaultLockConfiguration")
        now = CLOCK.now()
        if vault.lock is not None and vault.lock.immutable(now):
            raise InvalidRequest(
                f"Vault Lock configuration of backup vault {backup_vault_name} is immutable since "
                f"{vault.lock.lock_date.isoformat()} and cannot be modified"  # type: ignore[union-attr]
            )
        if min_retention_days is not None and min_retention_days < 1:
            raise InvalidParameterValue("MinRetentionDays must be at least 1 day")
        if max_retention_days is not None and max_retention_days > 36500:
            raise InvalidParameterValue("MaxRetentionDays cannot exceed 36500 days")
        if (
            min_retention_days is not None
            and max_retention_days is not None
            and min_retention_days > max_retention_days
        ):
            raise InvalidParameterValue("MinRetentionDays cannot be greater than MaxRetentionDays")
        if changeable_for_days is not None and not 3 <= changeable_for_days <= 36500:
            raise InvalidParameterValue("ChangeableForDays must be between 3 and 36500 days")
        vault.lock = VaultLock(min_retention_days, max_retention_days, changeable_for_days, applied_at=now)

    def delete_backup_vault_lock_configuration(self, backup_vault_name: str) -> None:
        """DeleteBackupVaultLockConfiguration: refused with InvalidRequestException from ``LockDate`` on.
        [source: BOTO-BACKUP DeleteBackupVaultLockConfiguration]
        """
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVaultLockConfiguration")
        if vault.lock is not None and vault.lock.immutable(CLOCK.now()):
            raise InvalidRequest(
                f"Vault Lock configuration of backup vault {backup_vault_name} is immutable since "
                f"{vault.lock.lock_date.isoformat()} and cannot be deleted"  # type: ignore[union-attr]
            )
        vault.lock = None

    # -------------------------------------------------------- recovery points

    def list_recovery_points_by_backup_vault(self, backup_vault_name: str) -> list[RecoveryPoint]:
        vault = self.authorized_vault(backup_vault_name, "ListRecoveryPointsByBackupVault")
        return list(vault.recovery_points.values())

    def recovery_point(
        self, backup_vault_name: str, recovery_point_arn: str, action: str = "DescribeRecoveryPoint"
    ) -> tuple[Vault, RecoveryPoint]:
        """The recovery point, once the caller may do ``backup:<action>`` on it: the vault's
        access policy governs its recovery points, evaluated with the recovery point's ARN."""
        vault = self.authorized_vault(backup_vault_name, action, recovery_point_arn)
        point = vault.recovery_points.get(recovery_point_arn)
        if point is None:
            raise ResourceNotFound(f"Recovery point {recovery_point_arn} not found in backup vault {backup_vault_name}")
        return vault, point

    def delete_recovery_point(self, backup_vault_name: str, recovery_point_arn: str) -> None:
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "DeleteRecoveryPoint")
        refusal = vault.deletion_refusal(point, CLOCK.now())
        if refusal:
            raise InvalidRequest(refusal)
        del vault.recovery_points[recovery_point_arn]

    def update_recovery_point_lifecycle(
        self, backup_vault_name: str, recovery_point_arn: str, lifecycle: dict[str, Any] | None
    ) -> tuple[Vault, RecoveryPoint]:
        """UpdateRecoveryPointLifecycle: replaces the recovery point's ``Lifecycle``.

        * the lifecycle must be valid (``lifecycle.py``: 1..36,500 days or -1, cold storage at
          least 90 days; InvalidParameterValueException);
          [source: BOTO-BACKUP UpdateRecoveryPointLifecycle, Lifecycle.DeleteAfterDays]
        * in a locked vault (governance or compliance, grace time included) the retention of a
          recovery point cannot be shortened until it has ended, whether the recovery point was
          stored before or after the lock; lengthening is allowed up to ``MaxRetentionDays``
          (InvalidRequestException). [source: BOTO-BACKUP PutBackupVaultLockConfiguration:
          Vault Lock "prevents attempts to update the lifecycle policy that controls the
          retention period of any recovery point currently stored in a backup vault"]
        """
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "UpdateRecoveryPointLifecycle")
        new = dict(lifecycle or {})
        lifecycles.validate(new)
        refusal = vault.lifecycle_update_refusal(point, new, CLOCK.now())
        if refusal:
            raise InvalidRequest(refusal)
        point.lifecycle = new
        return vault, point

    def get_recovery_point_restore_metadata(
        self, backup_vault_name: str, recovery_point_arn: str
    ) -> tuple[Vault, RecoveryPoint, dict[str, str]]:
        """GetRecoveryPointRestoreMetadata: the key-value pairs that describe the backed-up DB
        instance, the ``Metadata`` a ``StartRestoreJob`` takes (all values are strings; ``KmsKeyId``
        only for an encrypted recovery point).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetRecoveryPointRestoreMetadata.html]
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-rds.html]
        """
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "GetRecoveryPointRestoreMetadata")
        snapshot = point.snapshot
        metadata = {
            name: str(snapshot[name])
            for name in ("DBInstanceIdentifier", "Engine", "EngineVersion", "DBInstanceClass", "AllocatedStorage")
            if snapshot.get(name) is not None
        }
        metadata["StorageEncrypted"] = "true" if point.encryption_key_arn else "false"
        if point.encryption_key_arn:
            metadata["KmsKeyId"] = point.encryption_key_arn
        return vault, point, metadata

    def list_recovery_points_by_resource(self, resource_arn: str, max_results: int | None) -> list[RecoveryPoint]:
        """ListRecoveryPointsByResource: the resource's recovery points in every vault of the
        account and Region, newest first. For RDS, ``MaxResults`` must be at least 20
        (InvalidParameterValueException; the message is the emulator's).
        [source: BOTO-BACKUP ListRecoveryPointsByResource, ListRecoveryPointsByResourceInput.MaxResults]
        """
        if max_results is not None and max_results < 20 and RDS_DB_ARN.match(resource_arn or ""):
            raise InvalidParameterValue("Invalid MaxResults: Amazon RDS requires a value of at least 20")
        points = [p for v in self.vaults.values() for p in v.recovery_points.values() if p.resource_arn == resource_arn]
        return sorted(points, key=lambda p: p.creation_date, reverse=True)

    def _find_recovery_point(self, recovery_point_arn: str, action: str) -> tuple[Vault, RecoveryPoint]:
        for vault in self.vaults.values():
            if recovery_point_arn in vault.recovery_points:
                self.authorize(vault, action, recovery_point_arn)
                return vault, vault.recovery_points[recovery_point_arn]
        raise ResourceNotFound(f"Recovery point {recovery_point_arn} not found")
