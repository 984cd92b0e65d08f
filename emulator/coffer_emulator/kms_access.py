"""KMS key policies, evaluated on every key-scoped KMS call before moto serves it.

moto 5.2.5 checks key policies only on ``DescribeKey``, only for ``Deny`` statements with
``Principal: "*"`` and ``Resource: "*"``, and ignores conditions (its check is switched off in
``patches.py``). Here every call that names a key is checked as KMS does
[source: https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html]:

* the IAM action is ``kms:<Operation>`` (``ReEncrypt`` needs ``kms:ReEncryptFrom`` on the source
  key and ``kms:ReEncryptTo`` on the destination key; ``CreateAlias`` / ``DeleteAlias`` need the
  action on the alias's key, ``UpdateAlias`` on the current and the new key), the resource the
  key ARN, with the caller's principal keys and ``kms:CallerAccount`` in the context;
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html]
* an explicit ``Deny`` refuses the call; otherwise the key policy must allow it, for callers of
  the key's own account too (a statement for the account root delegates to IAM, and IAM allows
  everything in the emulator's identity model, authz.py);
* a caller of another account reaches a key by key ARN or alias ARN, for the operations KMS
  allows across accounts only (cryptographic operations, ``CreateGrant``, ``DescribeKey``,
  ``GetKeyRotationStatus``, ``GetPublicKey``, ``ListGrants``, ``RevokeGrant``); an allowed call is
  served by the key's account (moto's ``x-moto-account-id``). Other operations on another
  account's key are left to moto, which does not find the key in the caller's account.
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html]

A refused call gets KMS's ``AccessDeniedException`` (awsJson 1.1, HTTP 400,
``{"__type": "AccessDeniedException", "message": "User: ... is not authorized to perform: ..."}``).
[source: https://github.com/elastic/cloudbeat/issues/1749 ("StatusCode: 400, ... api error AccessDeniedException: User: ... because no resource-based policy allows the kms:GetKeyRotationStatus action")]

The policy lockout safety check: ``CreateKey`` with a ``Policy`` and ``PutKeyPolicy`` are refused
with ``MalformedPolicyDocumentException`` ("The new key policy will not allow you to update the
key policy in the future.", HTTP 400) when the new policy would not allow the calling principal
``kms:PutKeyPolicy``, unless ``BypassPolicyLockoutSafetyCheck`` is true.
[source: BOTO-KMS CreateKey.BypassPolicyLockoutSafetyCheck, PutKeyPolicy.BypassPolicyLockoutSafetyCheck]
[source: https://github.com/widdix/aws-cf-templates/issues/259 (Status Code: 400; Error Code: MalformedPolicyDocumentException)]
"""

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

from moto.kms.models import Key, kms_backends
from moto.kms.utils import RESERVED_ALIASES, _deserialize_ciphertext_blob

from . import authz, consistency, keys, patches, wire
from .identity import Caller

Response = tuple[int, list[tuple[str, str]], bytes]

# Operations a principal of another account can call on a key (by key ARN or alias ARN).
CROSS_ACCOUNT_OPERATIONS = frozenset(
    {
        "CreateGrant",
        "Decapsulate",
        "Decrypt",
        "DeriveSharedSecret",
        "DescribeKey",
        "Encapsulate",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "GetKeyRotationStatus",
        "GetPublicKey",
        "ListGrants",
        "ReEncrypt",
        "RevokeGrant",
        "Sign",
        "Verify",
        "VerifyMac",
    }
)

# Operations whose KeyId names the key the action applies to (IAM action kms:<Operation>): the
# cross-account ones but Decrypt and ReEncrypt (their key may come from the ciphertext), then the
# ones only the key's own account can call: those that change a key (as AWS managed keys refuse
# them, patches.py) and the reads of its policy, material, rotations, tags and use.
KEY_OPERATIONS = (
    (CROSS_ACCOUNT_OPERATIONS - {"Decrypt", "ReEncrypt"})
    | {action.removeprefix("kms:") for action in patches.AWS_MANAGED_KEY_CHANGES}
    | {
        "GetKeyLastUsage",
        "GetKeyPolicy",
        "GetParametersForImport",
        "ListKeyPolicies",
        "ListKeyRotations",
        "ListResourceTags",
    }
)

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."


@dataclass(frozen=True)
class Answer:
    """What to do with a KMS call: refuse it (``response``), serve it in another account
    (``route_account``), or let moto serve it as it is (both None)."""

    response: Response | None = None
    route_account: str | None = None


PASS = Answer()


@dataclass(frozen=True)
class _Use:
    """One key the call uses, and the IAM action it needs on it."""

    key: Key
    action: str


def check(call: wire.Call, environ: dict[str, Any], caller: Caller) -> Answer:
    """Evaluate the key policies a KMS call needs; see the module docs."""
    try:
        body = json.loads(wire.read_body(environ) or b"{}")
    except ValueError:
        return PASS
    if not isinstance(body, dict):
        return PASS
    operation = call.operation
    region = call.region
    if operation == "CreateKey":
        refusal = _lockout_refusal(operation, body, caller, region, [])
        return Answer(response=refusal) if refusal is not None else PASS
    uses = _uses(operation, body, caller.account, region)
    if uses is None:
        return PASS
    owners = {use.key.account_id for use in uses}
    if owners != {caller.account} and operation not in CROSS_ACCOUNT_OPERATIONS:
        return PASS  # not possible across accounts: moto does not find the key in the caller's account
    for use in uses:
        if patches.aws_managed_key_change(use.key, use.action):  # AWS managed keys never change
            message = authz.denial_message(caller.caller_arn, use.action, use.key.arn, False)
            return Answer(response=access_denied(message))
        document = consistency.key_policy(use.key)  # the previous policy while a change propagates
        verdict = authz.decide(document, authz.request_for(caller, use.action, use.key.arn), use.key.account_id)
        if not verdict.allowed:
            return Answer(response=access_denied(verdict.message(caller.caller_arn, use.action, use.key.arn)))
    refusal = _lockout_refusal(operation, body, caller, region, uses)
    if refusal is not None:
        return Answer(response=refusal)
    if operation == "PutKeyPolicy":
        consistency.note_key_policy_change(uses[0].key)
    if len(owners) == 1 and owners != {caller.account}:
        return Answer(route_account=owners.pop())
    return PASS


def _uses(operation: str, body: dict[str, Any], account: str, region: str) -> list[_Use] | None:
    """The keys the call uses with their actions; None when the call names no existing key in
    the call's Region (moto answers it: NotFoundException, validation errors, ...)."""
    if operation in KEY_OPERATIONS:
        key = _key(body.get("KeyId"), account, region)
        return [_Use(key, f"kms:{operation}")] if key is not None else None
    if operation == "Decrypt":
        key = _key(body.get("KeyId"), account, region) if body.get("KeyId") else _ciphertext_key(body, account, region)
        return [_Use(key, "kms:Decrypt")] if key is not None else None
    if operation == "ReEncrypt":
        source = (
            _key(body.get("SourceKeyId"), account, region)
            if body.get("SourceKeyId")
            else _ciphertext_key(body, account, region)
        )
        destination = _key(body.get("DestinationKeyId"), account, region)
        if source is None or destination is None:
            return None
        return [_Use(source, "kms:ReEncryptFrom"), _Use(destination, "kms:ReEncryptTo")]
    if operation in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
        return _alias_uses(operation, body, account, region)
    return None


def _alias_uses(operation: str, body: dict[str, Any], account: str, region: str) -> list[_Use] | None:
    """Aliases are not usable across accounts: both keys are looked up in the caller's account."""
    alias = body.get("AliasName")
    current = _key(alias, account, region) if isinstance(alias, str) and alias.startswith("alias/") else None
    target = _key(body.get("TargetKeyId"), account, region) if operation != "DeleteAlias" else None
    found = [key for key in ((current if operation != "CreateAlias" else None), target) if key is not None]
    if not found or any(key.account_id != account for key in found):
        return None
    return [_Use(key, f"kms:{operation}") for key in found]


def _key(reference: Any, account: str, region: str) -> Key | None:
    """The key a key ID, key ARN, alias name or alias ARN names, if it is in the call's Region."""
    if not isinstance(reference, str) or not reference:
        return None
    location = keys.locate(reference, account, region)
    if location.region != region:
        return None
    if location.ref in RESERVED_ALIASES:  # AWS managed keys exist from their first reference
        return keys.aws_managed_key(location.account, region, location.ref.removeprefix("alias/aws/"))
    if not _has_backend(location.account, region):
        return None
    return keys.find_key(reference, account, region)


def _ciphertext_key(body: dict[str, Any], account: str, region: str) -> Key | None:
    """The key that encrypted ``CiphertextBlob`` (moto's blob names it), searched in the
    caller's account first, then in the other accounts of the Region."""
    try:
        blob = base64.b64decode(body.get("CiphertextBlob") or "", validate=True)
        key_id = _deserialize_ciphertext_blob(blob).key_id
    except Exception:  # noqa: BLE001 - not a blob moto made: moto answers InvalidCiphertextException
        return None
    for owner in [account, *[a for a in list(kms_backends.keys()) if a != account]]:
        if _has_backend(owner, region):
            key = keys.backend(owner, region).keys.get(key_id)
            if key is not None:
                return key
    return None


def _has_backend(account: str, region: str) -> bool:
    return account in kms_backends and region in kms_backends[account].keys()


def _lockout_refusal(
    operation: str, body: dict[str, Any], caller: Caller, region: str, uses: list[_Use]
) -> Response | None:
    """The policy lockout safety check of CreateKey (with a Policy) and PutKeyPolicy."""
    if operation not in ("CreateKey", "PutKeyPolicy") or body.get("BypassPolicyLockoutSafetyCheck") is True:
        return None
    new_policy = body.get("Policy")
    if not isinstance(new_policy, str):
        return None
    if operation == "PutKeyPolicy":
        owner, resource = uses[0].key.account_id, uses[0].key.arn
    else:
        owner, resource = caller.account, f"arn:aws:kms:{region}:{caller.account}:key/*"
    verdict = authz.decide(new_policy, authz.request_for(caller, "kms:PutKeyPolicy", resource), owner)
    if verdict.allowed:
        return None
    return kms_error("MalformedPolicyDocumentException", LOCKOUT_MESSAGE)


def access_denied(message: str) -> Response:
    return kms_error("AccessDeniedException", message)


def kms_error(code: str, message: str) -> Response:
    """A KMS error in the awsJson 1.1 wire shape (HTTP 400)."""
    request_id = str(uuid.uuid4())
    body = json.dumps({"__type": code, "message": message}).encode()
    return 400, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], body
