"""Resource Groups Tagging API ``GetResources`` over the emulator's KMS keys and AWS Backup vaults
and plans: moto's own implementation walks only the backends that take part in its tagging
mixin, and neither KMS nor Backup does, so it answers an empty list for them.

What AWS does, and so this module:

* ``TagFilters``: at most 50, each with a ``Key`` (1-128 characters) and at most 20 ``Values``;
  a resource matches when it matches every filter, and a filter when the resource has the key
  with one of the values (any value when ``Values`` is empty).
  [source: https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
   ("A request can include up to 50 keys, and each key can include up to 20 values")]
  [source: BOTO-RESOURCEGROUPSTAGGINGAPI TagFilter.Key, TagFilter.Values]
* ``ResourceTypeFilters``: ``service[:resourceType]``, the strings embedded in the resource's ARN
  (``kms:key``, ``backup:backup-vault``, ``backup:backup-plan``); at most 100.
  [source: https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
   ("The format of each resource type is service[:resourceType]")]
* ``ResourcesPerPage`` 1-100 (default 100 here), ``TagsPerPage`` 100-500; both are refused
  together. A page ends early at ``TagsPerPage`` tags. ``PaginationToken`` continues a listing;
  the last page answers ``PaginationToken: ""``.
  [source: https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
   ("You can set ResourcesPerPage to a minimum of 1 item and the maximum of 100 items")]
* Only resources that carry tags are listed ("tagged or previously tagged": the emulator does not
  remember tags that were removed).
"""

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from moto.backup.models import backup_backends
from moto.core.resource_tagging import iter_taggable_backends
from moto.kms.models import kms_backends

INVALID = "InvalidParameterException"
MAX_TAG_FILTERS = 50
MAX_TAG_VALUES = 20
MAX_RESOURCE_TYPES = 100
_RESOURCE_TYPE = re.compile(r"^[a-z0-9-]+(:[a-z0-9-]+)?$")


class TaggingError(Exception):
    """A refusal, as the Tagging API answers it (``code``, ``message``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def get_resources(account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``GetResources`` answer for ``params`` (the request's members) in ``account`` and
    ``region``."""
    tag_filters = _tag_filters(params.get("TagFilters") or [])
    types = _resource_types(params.get("ResourceTypeFilters") or [])
    per_page, tags_per_page = _page_sizes(params)
    arns = params.get("ResourceARNList") or []
    if arns and (tag_filters or types):
        raise TaggingError(INVALID, "ResourceARNList cannot be combined with TagFilters or ResourceTypeFilters")
    matching = [
        (arn, tags)
        for arn, tags in sorted(_all_tagged(account, region))
        if _type_matches(arn, types) and _tags_match(tags, tag_filters) and (not arns or arn in arns)
    ]
    fingerprint = _fingerprint(params)
    start = _start(params.get("PaginationToken") or "", fingerprint)
    page: list[dict[str, Any]] = []
    tag_count = 0
    position = start
    while position < len(matching) and len(page) < per_page:
        arn, tags = matching[position]
        if page and tag_count + len(tags) > tags_per_page:
            break
        page.append({"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        tag_count += len(tags)
        position += 1
    token = _token(position, fingerprint) if position < len(matching) else ""
    return {"ResourceTagMappingList": page, "PaginationToken": token}


def _tag_filters(raw: Any) -> list[tuple[str, list[str]]]:
    if not isinstance(raw, list) or len(raw) > MAX_TAG_FILTERS:
        raise TaggingError(INVALID, f"TagFilters must be a list of at most {MAX_TAG_FILTERS} filters")
    filters = []
    for item in raw:
        key = item.get("Key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise TaggingError(INVALID, "Each TagFilter needs a Key of 1 to 128 characters")
        values = item.get("Values") or []
        if not isinstance(values, list) or len(values) > MAX_TAG_VALUES:
            raise TaggingError(INVALID, f"A TagFilter can include at most {MAX_TAG_VALUES} Values")
        if any(not isinstance(v, str) or len(v) > 256 for v in values):
            raise TaggingError(INVALID, "TagFilter Values must be strings of at most 256 characters")
        filters.append((key, values))
    return filters


def _resource_types(raw: Any) -> list[str]:
    if not isinstance(raw, list) or len(raw) > MAX_RESOURCE_TYPES:
        raise TaggingError(INVALID, f"ResourceTypeFilters must be a list of at most {MAX_RESOURCE_TYPES} types")
    for value in raw:
        if not isinstance(value, str) or not _RESOURCE_TYPE.match(value):
            raise TaggingError(INVALID, f"Unsupported resource type format: {value!r} (expected service[:resourceType])")
    return raw


def _page_sizes(params: dict[str, Any]) -> tuple[int, int]:
    per_page = params.get("ResourcesPerPage")
    tags_per_page = params.get("TagsPerPage")
    if per_page is not None and tags_per_page is not None:
        raise TaggingError(INVALID, "ResourcesPerPage and TagsPerPage cannot be specified together")
    if per_page is not None and not 1 <= int(per_page) <= 100:
        raise TaggingError(INVALID, "ResourcesPerPage must be between 1 and 100")
    if tags_per_page is not None and not 100 <= int(tags_per_page) <= 500:
        raise TaggingError(INVALID, "TagsPerPage must be between 100 and 500")
    return int(per_page or 100), int(tags_per_page or 500)


def _tagged(account: str, region: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every tagged KMS key, Backup vault and Backup plan of the account and Region."""
    if account in kms_backends and region in kms_backends[account]:
        kms = kms_backends[account][region]
        for key in list(kms.keys.values()):
            tags = {t["TagKey"]: t["TagValue"] for t in kms.tagger.list_tags_for_resource(key.id)["Tags"]}
            if tags:
                yield key.arn, tags
    if account in backup_backends and region in backup_backends[account]:
        backup = backup_backends[account][region]
        owned = [v.backup_vault_arn for v in list(backup.vaults.values())]
        owned += [p.backup_plan_arn for p in list(backup.plans.values()) if getattr(p, "deletion_date", None) is None]
        for arn in owned:
            tags = backup.tagger.get_tag_dict_for_resource(arn)
            if tags:
                yield arn, tags


def _all_tagged(account: str, region: str) -> Iterator[tuple[str, dict[str, str]]]:
    """:func:`_tagged`, then every other service moto's own ``GetResources`` lists (S3, EC2,
    ...) as moto lists them, each ARN once."""
    seen: set[str] = set()
    for arn, tags in _tagged(account, region):
        seen.add(arn)
        yield arn, tags
    for backend in iter_taggable_backends(account, region):
        for resource in backend.iter_tagged_resources():
            if resource.tags and resource.arn not in seen:
                seen.add(resource.arn)
                yield resource.arn, dict(resource.tags)


def _type_matches(arn: str, types: list[str]) -> bool:
    if not types:
        return True
    parts = arn.split(":", 5)
    service, resource = parts[2], parts[5]
    kind = re.split(r"[:/]", resource, maxsplit=1)[0]
    if service == "s3" and not re.search(r"[:/]", resource):
        kind = "bucket"  # arn:aws:s3:::<bucket>: the ARN names no type
    return any(t == service or t == f"{service}:{kind}" for t in types)


def _tags_match(tags: dict[str, str], filters: list[tuple[str, list[str]]]) -> bool:
    return all(key in tags and (not values or tags[key] in values) for key, values in filters)


def _fingerprint(params: dict[str, Any]) -> str:
    """What a token belongs to: the request's filters, so a token is not reused for another query."""
    asked = {k: params.get(k) for k in ("TagFilters", "ResourceTypeFilters", "ResourceARNList")}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:16]


def _token(position: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{position}".encode()).decode()


def _start(token: str, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        owner, position = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        start = int(position)
    except (ValueError, UnicodeDecodeError):
        raise TaggingError(INVALID, "The PaginationToken is not valid") from None
    if owner != fingerprint or start < 1:
        raise TaggingError(INVALID, "The PaginationToken is not valid for this request")
    return start
