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
"""

from typing import Any

from moto.backup.models import backup_backends
from moto.kms.models import KmsBackend
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
    original = DBInstance.kms_key_id
    DBInstance.kms_key_id = property(_db_instance_key_getter(original.fget), original.fset)  # type: ignore[method-assign,assignment]
    _installed = True


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
