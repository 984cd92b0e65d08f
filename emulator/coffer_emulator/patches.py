"""Every change the emulator makes to moto itself, applied once by ``install()`` before serving.

1. Backup: moto's ``backup_backends`` builds ``CofferBackupBackend`` instead of moto's class,
   so the extended operations share moto's per-account, per-Region Backup state.
2. KMS: moto creates the AWS managed keys (``alias/aws/rds``, ...) on first reference but
   marks them ``KeyManager: CUSTOMER``; here they are real AWS managed keys
   (``KeyManager: AWS``, AWS-style key policy).
3. RDS: ``DBInstance.kms_key_id`` resolves
   * a world file's deferred key binding (``kms_key: alias/...``) at the moment it is read, and
   * moto's placeholder ``default_kms_key_id`` (encrypted without ``KmsKeyId``) to the
     account's ``aws/rds`` key, as RDS does.
     [source: BOTO-RDS CreateDBInstanceMessage.KmsKeyId]
4. KMS: ``EnableKeyRotation`` keeps ``RotationPeriodInDays`` (90-2560, default 365) and
   ``GetKeyRotationStatus`` returns it while rotation is on, as KMS does; moto drops it.
   [source: BOTO-KMS EnableKeyRotation, GetKeyRotationStatus]
5. KMS: ``ScheduleKeyDeletion``, ``CancelKeyDeletion``, ``EnableKey`` and ``DisableKey`` accept
   a key ARN as well as a key ID, as KMS does; moto looks the ARN up as an ID and fails with
   HTTP 500. [source: BOTO-KMS ScheduleKeyDeletion.KeyId, CancelKeyDeletion.KeyId, EnableKey.KeyId]
6. KMS: moto's own key policy check (``DescribeKey`` only, ``Deny`` statements with
   ``Principal: "*"``, conditions ignored) is switched off: the middleware evaluates key
   policies on every call (``kms_access.py``).
"""

import json
from typing import Any

from moto.backup.models import backup_backends
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.kms.utils import RESERVED_ALIASES
from moto.rds.models import DBInstance

from . import keys
from .backup.backend import CofferBackupBackend

# Set on a DBInstance by the world loader: the alias whose key encrypts the instance.
DEFERRED_KEY_ATTRIBUTE = "coffer_key_alias"
_MOTO_DEFAULT_KEY_PLACEHOLDER = "default_kms_key_id"

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    backup_backends.backend = CofferBackupBackend
    backup_backends.clear()
    KmsBackend._generate_default_keys = _generate_aws_managed_key  # type: ignore[method-assign]
    original = DBInstance.__dict__["kms_key_id"]  # the property object
    DBInstance.kms_key_id = property(_db_instance_key_getter(original.fget), original.fset)  # type: ignore[method-assign,assignment]
    KmsResponse.enable_key_rotation = _enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = _get_key_rotation_status  # type: ignore[method-assign]
    KmsResponse._validate_key_policy = lambda self, key_id, action: None  # type: ignore[method-assign]
    _accept_key_arns(KmsBackend, "schedule_key_deletion")
    _accept_key_arns(KmsBackend, "cancel_key_deletion")
    _accept_key_arns(KmsBackend, "enable_key")
    _accept_key_arns(KmsBackend, "disable_key")
    _installed = True


def _accept_key_arns(backend: type, method: str) -> None:
    original = getattr(backend, method)

    def with_key_id(self: KmsBackend, key_id: str, *args: Any, **kwargs: Any) -> Any:
        return original(self, self.get_key_id(key_id), *args, **kwargs)

    setattr(backend, method, with_key_id)


ROTATION_PERIOD_ATTRIBUTE = "coffer_rotation_period_days"


def _enable_key_rotation(self: KmsResponse) -> str:
    from moto.kms.exceptions import ValidationException

    key_id = self._get_param("KeyId")
    period = self._get_param("RotationPeriodInDays") or 365
    if not 90 <= int(period) <= 2560:
        raise ValidationException(
            f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560 and greater than or equal to 90"
        )
    self._validate_cmk_id(key_id)
    self.kms_backend.enable_key_rotation(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    setattr(key, ROTATION_PERIOD_ATTRIBUTE, int(period))
    return json.dumps(None)


def _get_key_rotation_status(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    enabled = self.kms_backend.get_key_rotation_status(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    out: dict[str, Any] = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
    if enabled:
        out["RotationPeriodInDays"] = getattr(key, ROTATION_PERIOD_ATTRIBUTE, 365)
    return json.dumps(out)


def _generate_aws_managed_key(self: KmsBackend, alias_name: str) -> str | None:
    if alias_name not in RESERVED_ALIASES:
        return None
    service = alias_name.removeprefix("alias/aws/")
    return keys.aws_managed_key(self.account_id, self.region_name, service).id


def _db_instance_key_getter(original_getter: Any) -> Any:
    def kms_key_id(instance: DBInstance) -> str | None:
        alias = getattr(instance, DEFERRED_KEY_ATTRIBUTE, None)
        if alias is not None:
            key = keys.find_key(alias, instance.account_id, instance.region)
            return key.arn if key is not None else keys.alias_arn(instance.account_id, instance.region, alias)
        value = original_getter(instance)
        if value == _MOTO_DEFAULT_KEY_PLACEHOLDER:
            return keys.aws_managed_key(instance.account_id, instance.region, "rds").arn
        return value

    return kms_key_id
