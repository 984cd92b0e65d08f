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
7. Organizations: moto's reset (``/moto-api/reset``, the admin reset) forgets every
   organization but not its map of member accounts (``organizations_backends.master_accounts``),
   so a former member would still describe itself as a member, of whatever organization its old
   management account creates next (and answer HTTP 500 otherwise). The map is cleared with the
   rest of moto's state.
8. RDS: ``DBCluster.kms_key_id`` is moto's placeholder ``default_kms_key_id`` for every cluster
   created without ``KmsKeyId``; an encrypted cluster reports the account's ``aws/rds`` key ARN
   instead (RDS "uses your default KMS key"), an unencrypted one no key (``KmsKeyId`` is only
   returned "if StorageEncrypted is enabled"). Cluster snapshots and the cluster's DB instances
   read the cluster's key.
   [source: BOTO-RDS CreateDBClusterMessage.KmsKeyId, DBCluster.KmsKeyId]
9. KMS: AWS managed keys (``KeyManager: AWS``) cannot be changed: operations that would change
   one (disable, enable, schedule or cancel deletion, key policy, rotation, description, tags,
   key material, replication) are refused whatever their key policy says, with the refusal of
   the AWS managed key policy, which allows the account only ``kms:Describe*``, ``kms:Get*``,
   ``kms:List*`` and ``kms:RevokeGrant`` (``kms_access.check`` asks ``aws_managed_key_change``).
   [source: https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html ("You cannot enable or disable AWS managed keys")]
   [source: https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html ("You cannot schedule the deletion of AWS managed keys")]
   [source: https://docs.aws.amazon.com/kms/latest/developerguide/editing-keys.html ("You cannot edit any properties of AWS managed keys")]
   [source: https://github.com/aws-ia/terraform-aws-eks-blueprints/issues/485 (wire shape: "AccessDeniedException - User: ... is not authorized to perform: kms:DisableKey on resource: ... because no resource-based policy allows the kms:DisableKey action")]
10. Resource Groups Tagging API: ``GetResources`` lists the tagged KMS keys and AWS Backup
    vaults and plans (``tagging.py``); moto's own lists neither service.
11. Organizations: ``ListAccounts`` pages by account ID, 20 accounts a page by default as
    ``MaxResults`` allows at most; moto pages by ``JoinedTimestamp``, which accounts created in
    the same instant share, so a continued listing skipped or repeated accounts, and its default
    page of 100 hid pagination from every fleet below that size.
    [source: BOTO-ORGANIZATIONS ListAccountsRequest.MaxResults]
12. Dispatch: moto's server finds each request's backend from its host name by listing moto's
    package directory (a ``stat`` per service) and then trying every service's URL patterns,
    for every request and under one lock all requests share. The answer depends on the host
    name alone, so it is remembered per host name. During a 100-account plan (2,025 requests),
    two thirds of the samples of the emulator's threads were waiting for that lock.
13. Dispatch: moto's responses (and the Backup extension's, ``backup/responses.py``) find the
    method of an operation by listing the response class's functions (``inspect.getmembers``)
    for every request. The list is remembered per class; ``install()`` runs before the first
    request, so every method the emulator adds is in it.
14. Dispatch: moto's ``BackendDict[account]`` (every backend lookup, several per request) takes
    the lock all requests share, copies the list of accounts the service has seen and searches
    the list of services in use, comparing each. An account already there is now answered by the
    dictionary itself; a new account still goes through moto's (it registers the service, and
    moto's reset forgets the accounts and the services together).
"""

import functools
import json
from typing import Any

from moto.backup.models import backup_backends
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.core.utils import method_names_from_class
from moto.kms.models import Key, KmsBackend
from moto.kms.responses import KmsResponse
from moto.kms.utils import RESERVED_ALIASES
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.organizations import utils as organizations_utils
from moto.organizations.models import organizations_backends
from moto.rds.models import DBCluster, DBInstance
from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse

from . import consistency, keys, service_roles, tagging
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
    KmsBackend.schedule_key_deletion = _pending_window_checked(KmsBackend.schedule_key_deletion)  # type: ignore[method-assign]
    _accept_key_arns(KmsBackend, "schedule_key_deletion")
    _accept_key_arns(KmsBackend, "cancel_key_deletion")
    _accept_key_arns(KmsBackend, "enable_key")
    _accept_key_arns(KmsBackend, "disable_key")
    BackendDict.reset = classmethod(_reset_with_memberships(BackendDict.reset.__func__))  # type: ignore[method-assign,attr-defined]
    DBCluster.kms_key_id = property(_db_cluster_key, _set_db_cluster_key)  # type: ignore[attr-defined]
    service_roles.install()  # iam:AttachRolePolicy attaches AWS managed policies
    consistency.install()  # IAM notes when each role was created (the new_role delay)
    ResourceGroupsTaggingAPIResponse.get_resources = _get_resources  # type: ignore[method-assign,assignment]
    organizations_utils.PAGINATION_MODEL["list_accounts"].update(unique_attribute="Id", limit_default=20)
    # Called under the dispatcher's lock; the answer depends on the host name alone.
    DomainDispatcherApplication.get_backend_for_host = functools.lru_cache(maxsize=_HOSTS_REMEMBERED)(  # type: ignore[method-assign]
        DomainDispatcherApplication.get_backend_for_host
    )
    moto_responses.method_names_from_class = functools.cache(method_names_from_class)  # type: ignore[attr-defined]
    BackendDict.__getitem__ = _known_account_first(BackendDict.__getitem__)  # type: ignore[method-assign]
    _installed = True


# Host names remembered at most: a service's endpoints in every Region are a few hundred; the
# host name comes from the request's signature, which the client writes.
_HOSTS_REMEMBERED = 4096


def _known_account_first(original: Any) -> Any:
    @functools.wraps(original)
    def getitem(self: BackendDict, account_id: str) -> Any:  # type: ignore[type-arg]
        found = dict.get(self, account_id)
        return found if found is not None else original(self, account_id)

    return getitem


def _get_resources(self: ResourceGroupsTaggingAPIResponse) -> str:
    """``GetResources`` over KMS and Backup (``tagging.py``)."""
    members = ("TagFilters", "ResourceTypeFilters", "ResourcesPerPage", "TagsPerPage", "PaginationToken", "ResourceARNList")
    params = {name: self._get_param(name) for name in members}
    try:
        return json.dumps(tagging.get_resources(self.current_account, self.region, params))
    except tagging.TaggingError as error:
        raise ResourceGroupsTaggingAPIError(error.code, error.message) from None


def _pending_window_checked(schedule: Any) -> Any:
    """``ScheduleKeyDeletion`` with a waiting period outside 7–30 days: moto answers 200 and
    schedules nothing; AWS refuses with ``ValidationException`` (HTTP 400), although the
    model's range is 1–365.
    [source: https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
     ("If you include a value, it must be between 7 and 30, inclusive.")]
    [source: https://github.com/Skyscanner/kms-issuer/issues/8 ("ValidationException:
     PendingWindowInDays must be between 7 and 30", status code 400)]
    """

    def schedule_key_deletion(self: KmsBackend, key_id: str, pending_window_in_days: int) -> float:
        from moto.kms.exceptions import ValidationException

        if not 7 <= pending_window_in_days <= 30:
            raise ValidationException("PendingWindowInDays must be between 7 and 30")
        return schedule(self, key_id, pending_window_in_days)

    return schedule_key_deletion


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


def _reset_with_memberships(original_reset: Any) -> Any:
    """moto's reset of all backends, which also forgets which accounts are members of which
    organization (moto keeps that map beside the backends and never clears it)."""

    def reset(cls: type) -> None:
        original_reset(cls)
        organizations_backends.master_accounts.clear()

    return reset


# The raw value lives in the instance's ``__dict__`` under moto's own attribute name, so moto's
# copies of a cluster (``__dict__`` walks when restoring from a snapshot) keep it.
def _db_cluster_key(cluster: DBCluster) -> str | None:
    value = cluster.__dict__.get("kms_key_id")
    if value in (None, _MOTO_DEFAULT_KEY_PLACEHOLDER):
        if not cluster.storage_encrypted:
            return None
        return keys.aws_managed_key(cluster.account_id, cluster.region, "rds").arn
    return value


def _set_db_cluster_key(cluster: DBCluster, value: str | None) -> None:
    cluster.__dict__["kms_key_id"] = value


# KMS operations that change a key (IAM action names). AWS managed keys refuse all of them.
AWS_MANAGED_KEY_CHANGES = frozenset(
    f"kms:{operation}"
    for operation in (
        "CancelKeyDeletion",
        "DeleteImportedKeyMaterial",
        "DisableKey",
        "DisableKeyRotation",
        "EnableKey",
        "EnableKeyRotation",
        "ImportKeyMaterial",
        "PutKeyPolicy",
        "ReplicateKey",
        "RotateKeyOnDemand",
        "ScheduleKeyDeletion",
        "TagResource",
        "UntagResource",
        "UpdateKeyDescription",
        "UpdatePrimaryRegion",
    )
)


def aws_managed_key_change(key: Key, action: str) -> bool:
    """``action`` would change ``key`` and ``key`` is an AWS managed key: the call is refused
    (item 9 above)."""
    return getattr(key, "key_manager", None) == "AWS" and action in AWS_MANAGED_KEY_CHANGES
