"""World files: the organization, accounts and pre-existing resources the emulator starts from.

A world is a YAML (or JSON) document; ``README.md`` documents the format. Loading one
assumes empty state (the admin API resets first) and creates everything through moto's
own backends, with the IDs the file fixes: moto's random-ID helpers are pinned while the
organization, its OUs and accounts are created.
"""

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import yaml
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.parse import XFormedDict
from moto.iam.models import iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends
from moto.rds.exceptions import RDSClientError
from moto.rds.models import rds_backends
from werkzeug.exceptions import HTTPException

from . import consistency, keys, orgs, service_roles
from .backup import operations
from .backup.errors import BackupError
from .backup.jobs import JobTiming
from .faults import FaultConfig
from .patches import DEFERRED_KEY_ATTRIBUTE

ACCOUNT_ID = re.compile(r"^\d{12}$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")  # BOTO-ORG Organization.Id
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")


class WorldError(ValueError):
    """The world document is invalid; the message says where."""


@dataclass
class LoadedWorld:
    """What the rest of the emulator needs to know about the current world."""

    document: dict[str, Any] | None = None
    # The account plain (non-assumed) credentials act as: the management account.
    default_account: str = DEFAULT_ACCOUNT_ID
    # sts:AssumeRole into a role missing from the target account's IAM answers AccessDenied
    # (roles.py); a world may turn this off with ``require_existing_roles: false``.
    require_existing_roles: bool = True


CURRENT = LoadedWorld()


def read(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise WorldError(f"world is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise WorldError("world must be a mapping")
    return document


def load(document: dict[str, Any], job_delay_override: float | None) -> FaultConfig:
    """Create the world in (empty) moto state; return the fault settings it asks for.

    ``job_delay_override`` (the ``--job-delay`` flag) wins over the world's ``job_delay_seconds``.
    """
    known = {
        "region",
        "job_delay_seconds",
        "require_existing_roles",
        "organization",
        "accounts",
        "faults",
        "eventual_consistency",
    }
    _no_unknown(document, known, "world")
    region = str(document.get("region", "us-east-1"))
    require_existing_roles = document.get("require_existing_roles", True)
    if not isinstance(require_existing_roles, bool):
        raise WorldError(f"require_existing_roles must be true or false, got {require_existing_roles!r}")
    try:
        delays = consistency.ConsistencyConfig.from_dict(document.get("eventual_consistency"))
    except ValueError as error:
        raise WorldError(f"eventual_consistency: {error}") from error
    organization = document.get("organization")
    try:
        management = _load_organization(organization, region) if organization else None
        for index, account in enumerate(document.get("accounts") or []):
            _load_account(account, region, f"accounts[{index}]")
    except (ServiceException, HTTPException) as error:  # moto refused something the world asks for
        raise WorldError(f"cannot create the world: {getattr(error, 'message', error)}") from error
    if job_delay_override is not None:
        JobTiming.delay_seconds = job_delay_override
    else:
        JobTiming.delay_seconds = float(document.get("job_delay_seconds", JobTiming.DEFAULT_SECONDS))
    try:
        faults = FaultConfig.from_dict(document.get("faults"))
    except ValueError as error:
        raise WorldError(f"faults: {error}") from error
    CURRENT.document = document
    CURRENT.default_account = management or DEFAULT_ACCOUNT_ID
    CURRENT.require_existing_roles = require_existing_roles
    # After the world's resources: what the world creates is visible at once.
    consistency.STATE.configure(delays)
    return faults


def forget() -> None:
    """Back to no world (after a reset): plain credentials act as moto's default account."""
    CURRENT.document = None
    CURRENT.default_account = DEFAULT_ACCOUNT_ID
    CURRENT.require_existing_roles = True
    consistency.STATE.reset()


def _no_unknown(mapping: Any, known: set[str], where: str) -> None:
    if not isinstance(mapping, dict):
        raise WorldError(f"{where} must be a mapping")
    unknown = set(mapping) - known
    if unknown:
        raise WorldError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")


def _account_id(value: Any, where: str) -> str:
    account = str(value)
    if not ACCOUNT_ID.match(account):
        raise WorldError(f"{where}: account id must be 12 digits (quote it in YAML), got {value!r}")
    return account


def _matching(value: Any, pattern: re.Pattern[str], where: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise WorldError(f"{where}: {value!r} does not match {pattern.pattern}")
    return value


@contextmanager
def _fixed_ids(**ids: str) -> Iterator[None]:
    """Make moto's Organizations ID helpers (``make_random_org_id``, ...) return the given IDs."""
    with ExitStack() as stack:
        for name, value in ids.items():
            stack.enter_context(mock.patch.object(org_utils, name, lambda *_, v=value: v))
        yield


def _load_organization(organization: dict[str, Any], region: str) -> str:
    """Create the organization, its OUs and member accounts; return the management account ID."""
    _no_unknown(
        organization,
        {"id", "root_id", "management_account", "feature_set", "organizational_units", "accounts"},
        "organization",
    )
    org_id = _matching(organization.get("id"), ORG_ID, "organization.id")
    root_id = _matching(organization.get("root_id", "r-" + org_id[2:6]), ROOT_ID, "organization.root_id")
    management = organization.get("management_account")
    if isinstance(management, dict):
        _no_unknown(management, {"id", "name", "email"}, "organization.management_account")
    else:
        management = {"id": management}
    management_id = _account_id(management.get("id"), "organization.management_account.id")
    backend = organizations_backends[management_id]["aws"]
    with _fixed_ids(make_random_org_id=org_id, make_random_root_id=root_id):
        backend.create_organization(region=region, FeatureSet=organization.get("feature_set", "ALL"))
    management_account = backend.get_account_by_id(management_id)
    management_account.name = management.get("name", "management")
    management_account.email = management.get("email", f"{management_id}@example.com")

    parents = {root_id}
    for index, ou in enumerate(organization.get("organizational_units") or []):
        where = f"organization.organizational_units[{index}]"
        _no_unknown(ou, {"id", "name", "parent"}, where)
        ou_id = _matching(ou.get("id"), OU_ID, f"{where}.id")
        parent = ou.get("parent", root_id)
        if parent not in parents:
            raise WorldError(f"{where}.parent: {parent!r} is not the root or an OU listed before it")
        with _fixed_ids(make_random_ou_id=ou_id):
            backend.create_organizational_unit(Name=ou.get("name", ou_id), ParentId=parent)
        parents.add(ou_id)

    for index, account in enumerate(organization.get("accounts") or []):
        where = f"organization.accounts[{index}]"
        _no_unknown(account, {"id", "name", "email", "parent"}, where)
        account_id = _account_id(account.get("id"), f"{where}.id")
        parent = account.get("parent", root_id)
        if parent not in parents:
            raise WorldError(f"{where}.parent: {parent!r} is not the root or a listed OU")
        name = account.get("name", account_id)
        with _fixed_ids(make_random_account_id=account_id):
            backend.create_account(AccountName=name, Email=account.get("email", f"{account_id}@example.com"))
        backend.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=parent)
    return management_id


def _load_account(account: dict[str, Any], default_region: str, where: str) -> None:
    _no_unknown(account, {"id", "roles", "kms_keys", "rds_instances", "backup_vaults", "backup_global_settings"}, where)
    account_id = _account_id(account.get("id"), f"{where}.id")
    for index, role in enumerate(account.get("roles") or []):
        _create_role(account_id, role, f"{where}.roles[{index}]")
    for index, key in enumerate(account.get("kms_keys") or []):
        _create_key(account_id, key, default_region, f"{where}.kms_keys[{index}]")
    for index, instance in enumerate(account.get("rds_instances") or []):
        _create_db_instance(account_id, instance, default_region, f"{where}.rds_instances[{index}]")
    for index, vault in enumerate(account.get("backup_vaults") or []):
        _create_vault(account_id, vault, default_region, f"{where}.backup_vaults[{index}]")
    settings = account.get("backup_global_settings")
    if settings:
        try:
            operations.backend(account_id, default_region).update_global_settings(
                {k: str(v).lower() for k, v in settings.items()}
            )
        except BackupError as error:
            raise WorldError(f"{where}.backup_global_settings: {error.message}") from error


def _policy_text(policy: Any) -> str | None:
    if policy is None or isinstance(policy, str):
        return policy
    return json.dumps(policy)


def _create_role(account_id: str, role: Any, where: str) -> None:
    """A role; by default trusted by the organization's management account, like
    ``OrganizationAccountAccessRole``, so AssumeRole into it is realistic."""
    if isinstance(role, str):
        role = {"name": role}
    _no_unknown(role, {"name", "path", "assume_role_policy", "trusts"}, where)
    if not role.get("name"):
        raise WorldError(f"{where}.name is required")
    if role.get("trusts") is not None:  # short form: the service principals the role trusts
        if role.get("assume_role_policy") is not None:
            raise WorldError(f"{where}: give trusts or assume_role_policy, not both")
        try:
            role = {**role, "assume_role_policy": service_roles.trust_policy_for(role["trusts"])}
        except ValueError as error:
            raise WorldError(f"{where}.trusts: {error}") from error
    trust = role.get("assume_role_policy") or {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{_management_of(account_id)}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam_backends[account_id]["global"].create_role(
        role_name=role["name"],
        assume_role_policy_document=trust if isinstance(trust, str) else json.dumps(trust),
        path=role.get("path", "/"),
        permissions_boundary=None,
        description="",
        tags=[],
        max_session_duration="3600",
    )


def _management_of(account_id: str) -> str:
    """The management account of ``account_id``'s organization (the account itself if none)."""
    found = orgs.membership(account_id)
    return found.management_account if found else account_id


def _create_key(account_id: str, key: dict[str, Any], default_region: str, where: str) -> None:
    _no_unknown(key, {"alias", "description", "policy", "tags", "region"}, where)
    region = key.get("region", default_region)
    backend = keys.backend(account_id, region)
    created = backend.create_key(
        policy=_policy_text(key.get("policy")),
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description=key.get("description", ""),
        tags=[{"TagKey": k, "TagValue": str(v)} for k, v in (key.get("tags") or {}).items()],
    )
    alias = key.get("alias")
    if alias:
        if not str(alias).startswith("alias/") or str(alias).startswith("alias/aws/"):
            raise WorldError(f"{where}.alias: must start with alias/ and not alias/aws/, got {alias!r}")
        if keys.find_key(alias, account_id, region) is not None:
            raise WorldError(f"{where}.alias: {alias} already exists in {account_id} {region}")
        backend.create_alias(created.id, alias)


def _create_db_instance(account_id: str, instance: dict[str, Any], default_region: str, where: str) -> None:
    """An RDS DB instance. ``kms_key``: absent/null = unencrypted; ``aws/rds`` = the AWS managed
    key; ``alias/...`` = a deferred binding, resolved whenever the key is needed; otherwise a
    key ID or ARN."""
    _no_unknown(
        instance,
        {"id", "engine", "engine_version", "instance_class", "allocated_storage", "kms_key", "region", "tags"},
        where,
    )
    region = instance.get("region", default_region)
    if not instance.get("id"):
        raise WorldError(f"{where}.id is required")
    parameters: dict[str, Any] = {
        "DBInstanceIdentifier": instance["id"],
        "Engine": instance.get("engine", "postgres"),
        "DBInstanceClass": instance.get("instance_class", "db.t3.micro"),
        "AllocatedStorage": int(instance.get("allocated_storage", 20)),
        "StorageEncrypted": False,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in (instance.get("tags") or {}).items()],
    }
    if instance.get("engine_version"):
        parameters["EngineVersion"] = str(instance["engine_version"])
    key_ref = instance.get("kms_key")
    deferred_alias = None
    if key_ref in ("aws/rds", "alias/aws/rds"):
        parameters.update(StorageEncrypted=True, KmsKeyId=keys.aws_managed_key(account_id, region, "rds").arn)
    elif key_ref and str(key_ref).startswith("alias/"):
        deferred_alias = str(key_ref)
        parameters.update(StorageEncrypted=True, KmsKeyId=keys.alias_arn(account_id, region, deferred_alias))
    elif key_ref:
        found = keys.find_key(str(key_ref), account_id, region)
        if found is None:
            raise WorldError(f"{where}.kms_key: no key {key_ref!r} in {account_id} {region}")
        parameters.update(StorageEncrypted=True, KmsKeyId=found.arn)
    try:
        created = rds_backends[account_id][region].create_db_instance(XFormedDict(parameters))  # type: ignore[arg-type]
    except RDSClientError as error:
        raise WorldError(f"{where}: {error.message}") from error
    if deferred_alias is not None:
        setattr(created, DEFERRED_KEY_ATTRIBUTE, deferred_alias)


def _create_vault(account_id: str, vault: dict[str, Any], default_region: str, where: str) -> None:
    _no_unknown(vault, {"name", "kms_key", "access_policy", "lock", "tags", "region"}, where)
    backend = operations.backend(account_id, vault.get("region", default_region))
    try:
        backend.create_backup_vault(
            backup_vault_name=str(vault.get("name", "")),
            backup_vault_tags={k: str(v) for k, v in (vault.get("tags") or {}).items()},
            encryption_key_arn=vault.get("kms_key"),
            creator_request_id=None,
        )
        if vault.get("access_policy") is not None:
            backend.put_backup_vault_access_policy(vault["name"], _policy_text(vault["access_policy"]))
        lock = vault.get("lock")
        if lock is not None:
            _no_unknown(lock, {"min_retention_days", "max_retention_days", "changeable_for_days"}, f"{where}.lock")
            backend.put_backup_vault_lock_configuration(
                vault["name"],
                lock.get("min_retention_days"),
                lock.get("max_retention_days"),
                lock.get("changeable_for_days"),
            )
    except BackupError as error:
        raise WorldError(f"{where}: {error.message}") from error
