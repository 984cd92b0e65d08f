"""KMS key policies evaluated on every key-scoped KMS call, and KMS's lockout safety check.

A refused call gets KMS's ``AccessDeniedException`` (awsJson 1.1, HTTP 400) naming the
assumed-role session, the action and the key ARN; a key policy must allow a call even within
the key's account (an account-root statement delegates to IAM, which allows everything in the
emulator's identity model); another account needs an Allow, and reaches the key by its ARN.
"""

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, MANAGEMENT, REGION, SOURCE

ROLE_ARN = f"arn:aws:iam::{SOURCE}:role/CofferDeployRole"
SESSION_ARN = f"arn:aws:sts::{SOURCE}:assumed-role/CofferDeployRole/coffer-tests"
ADMIN = "OrganizationAccountAccessRole"
ADMIN_ARN = f"arn:aws:iam::{SOURCE}:role/{ADMIN}"
ROOT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def guard(*actions: str) -> dict[str, Any]:
    """Deny ``actions`` to everyone but the administrator role (the shape of Coffer's key guard)."""
    return {
        "Sid": "Guard",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": ADMIN_ARN}},
    }


class Keys:
    """A source-account key (root statement) and its ciphertext; ``kms`` is CofferDeployRole,
    ``admin`` the account's OrganizationAccountAccessRole."""

    def __init__(self, emu: Any):
        self.kms = emu.client("kms", SOURCE)
        self.admin = emu.client("kms", SOURCE, role=ADMIN)
        key = self.kms.create_key(Policy=policy(ROOT))["KeyMetadata"]
        self.key_id, self.arn = key["KeyId"], key["Arn"]
        self.other = self.kms.create_key(Policy=policy(ROOT))["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName="alias/existing", TargetKeyId=self.other)
        self.ciphertext = self.kms.encrypt(KeyId=self.key_id, Plaintext=b"secret")["CiphertextBlob"]
        self.grant = self.kms.create_grant(
            KeyId=self.key_id, GranteePrincipal=ROLE_ARN, Operations=["Decrypt"]
        )["GrantId"]

    def set_policy(self, *statements: dict[str, Any]) -> None:
        self.admin.put_key_policy(KeyId=self.key_id, PolicyName="default", Policy=policy(*statements))


Call = Callable[[Keys], Any]
OPERATIONS: list[tuple[str, Call]] = [
    ("kms:DescribeKey", lambda k: k.kms.describe_key(KeyId=k.arn)),
    ("kms:GetKeyPolicy", lambda k: k.kms.get_key_policy(KeyId=k.key_id, PolicyName="default")),
    ("kms:PutKeyPolicy", lambda k: k.kms.put_key_policy(KeyId=k.key_id, PolicyName="default", Policy=policy(ROOT))),
    ("kms:DisableKey", lambda k: k.kms.disable_key(KeyId=k.key_id)),
    ("kms:EnableKey", lambda k: k.kms.enable_key(KeyId=k.key_id)),
    ("kms:ScheduleKeyDeletion", lambda k: k.kms.schedule_key_deletion(KeyId=k.key_id, PendingWindowInDays=7)),
    ("kms:CancelKeyDeletion", lambda k: k.kms.cancel_key_deletion(KeyId=k.key_id)),
    ("kms:EnableKeyRotation", lambda k: k.kms.enable_key_rotation(KeyId=k.key_id)),
    ("kms:DisableKeyRotation", lambda k: k.kms.disable_key_rotation(KeyId=k.key_id)),
    ("kms:GetKeyRotationStatus", lambda k: k.kms.get_key_rotation_status(KeyId=k.key_id)),
    ("kms:RotateKeyOnDemand", lambda k: k.kms.rotate_key_on_demand(KeyId=k.key_id)),
    ("kms:UpdateKeyDescription", lambda k: k.kms.update_key_description(KeyId=k.key_id, Description="new")),
    ("kms:TagResource", lambda k: k.kms.tag_resource(KeyId=k.key_id, Tags=[{"TagKey": "k", "TagValue": "v"}])),
    ("kms:UntagResource", lambda k: k.kms.untag_resource(KeyId=k.key_id, TagKeys=["k"])),
    ("kms:ListResourceTags", lambda k: k.kms.list_resource_tags(KeyId=k.key_id)),
    (
        "kms:CreateGrant",
        lambda k: k.kms.create_grant(KeyId=k.key_id, GranteePrincipal=ROLE_ARN, Operations=["Encrypt"]),
    ),
    ("kms:ListGrants", lambda k: k.kms.list_grants(KeyId=k.key_id)),
    ("kms:RevokeGrant", lambda k: k.kms.revoke_grant(KeyId=k.key_id, GrantId=k.grant)),
    ("kms:Encrypt", lambda k: k.kms.encrypt(KeyId=k.key_id, Plaintext=b"x")),
    ("kms:Decrypt", lambda k: k.kms.decrypt(CiphertextBlob=k.ciphertext)),
    ("kms:GenerateDataKey", lambda k: k.kms.generate_data_key(KeyId=k.key_id, KeySpec="AES_256")),
    (
        "kms:GenerateDataKeyWithoutPlaintext",
        lambda k: k.kms.generate_data_key_without_plaintext(KeyId=k.key_id, KeySpec="AES_256"),
    ),
    ("kms:ReEncryptFrom", lambda k: k.kms.re_encrypt(CiphertextBlob=k.ciphertext, DestinationKeyId=k.other)),
    ("kms:CreateAlias", lambda k: k.kms.create_alias(AliasName="alias/new", TargetKeyId=k.key_id)),
    ("kms:UpdateAlias", lambda k: k.kms.update_alias(AliasName="alias/existing", TargetKeyId=k.key_id)),
]


def _refused(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


def _assert_access_denied(response: dict[str, Any], message: str) -> None:
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    assert response["Error"] == {"Code": "AccessDeniedException", "Message": message}


def _explicit(caller: str, action: str, arn: str) -> str:
    return (
        f"User: {caller} is not authorized to perform: {action} on resource: {arn} "
        "with an explicit deny in a resource-based policy"
    )


def _implicit(caller: str, action: str, arn: str) -> str:
    return (
        f"User: {caller} is not authorized to perform: {action} on resource: {arn} "
        f"because no resource-based policy allows the {action} action"
    )


@pytest.mark.parametrize(("action", "call"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_deny_for_a_same_account_role_refuses_the_call(emu, action, call):
    keys = Keys(emu)
    if action == "kms:CancelKeyDeletion":
        keys.admin.schedule_key_deletion(KeyId=keys.key_id, PendingWindowInDays=7)
    if action == "kms:EnableKey":
        keys.admin.disable_key(KeyId=keys.key_id)
    if action == "kms:DisableKeyRotation":
        keys.admin.enable_key_rotation(KeyId=keys.key_id)
    keys.set_policy(ROOT, guard(action))

    _assert_access_denied(_refused(lambda: call(keys)), _explicit(SESSION_ARN, action, keys.arn))

    keys.set_policy(ROOT)
    call(keys)  # the same call, without the Deny


def test_update_alias_needs_the_action_on_the_current_key_too(emu):
    keys = Keys(emu)
    other_arn = keys.kms.describe_key(KeyId=keys.other)["KeyMetadata"]["Arn"]
    keys.admin.put_key_policy(KeyId=keys.other, PolicyName="default", Policy=policy(ROOT, guard("kms:UpdateAlias")))
    response = _refused(lambda: keys.kms.update_alias(AliasName="alias/existing", TargetKeyId=keys.key_id))
    _assert_access_denied(response, _explicit(SESSION_ARN, "kms:UpdateAlias", other_arn))
    keys.kms.delete_alias(AliasName="alias/existing")


def test_re_encrypt_needs_re_encrypt_to_on_the_destination_key(emu):
    keys = Keys(emu)
    other_arn = keys.kms.describe_key(KeyId=keys.other)["KeyMetadata"]["Arn"]
    keys.admin.put_key_policy(KeyId=keys.other, PolicyName="default", Policy=policy(ROOT, guard("kms:ReEncrypt*")))
    response = _refused(lambda: keys.kms.re_encrypt(CiphertextBlob=keys.ciphertext, DestinationKeyId=keys.other))
    _assert_access_denied(response, _explicit(SESSION_ARN, "kms:ReEncryptTo", other_arn))


def test_same_account_needs_an_allow(emu):
    """A key policy without the account root or the caller allows the caller nothing."""
    keys = Keys(emu)
    keys.set_policy({**ROOT, "Principal": {"AWS": ADMIN_ARN}})
    for action, call in (
        ("kms:DescribeKey", lambda: keys.kms.describe_key(KeyId=keys.key_id)),
        ("kms:Decrypt", lambda: keys.kms.decrypt(CiphertextBlob=keys.ciphertext)),
    ):
        _assert_access_denied(_refused(call), _implicit(SESSION_ARN, action, keys.arn))
    assert keys.admin.describe_key(KeyId=keys.key_id)["KeyMetadata"]["Arn"] == keys.arn
    # An Allow naming the role itself is enough.
    keys.set_policy({**ROOT, "Principal": {"AWS": [ADMIN_ARN, ROLE_ARN]}})
    keys.kms.describe_key(KeyId=keys.key_id)


def test_a_conditional_deny_applies_only_when_its_condition_holds(emu):
    """moto's own check denied DescribeKey for any Deny with Principal "*", conditions ignored."""
    keys = Keys(emu)
    keys.set_policy(
        ROOT,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:CallerAccount": SOURCE}},
        },
    )
    keys.kms.describe_key(KeyId=keys.key_id)
    _assert_access_denied(
        _refused(lambda: emu.client("kms", BACKUP).describe_key(KeyId=keys.arn)),
        _explicit(f"arn:aws:sts::{BACKUP}:assumed-role/CofferDeployRole/coffer-tests", "kms:DescribeKey", keys.arn),
    )


def test_aws_managed_keys_are_usable_only_through_their_service(emu):
    kms = emu.client("kms", SOURCE)
    key = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]  # Describe* is allowed to the account
    assert key["KeyManager"] == "AWS"
    _assert_access_denied(
        _refused(lambda: kms.encrypt(KeyId="alias/aws/rds", Plaintext=b"x")),
        _implicit(SESSION_ARN, "kms:Encrypt", key["Arn"]),
    )


# ------------------------------------------------------------------- cross-account

BACKUP_SESSION = f"arn:aws:sts::{BACKUP}:assumed-role/CofferDeployRole/coffer-tests"
SHARED = {
    "Sid": "UseByBackup",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
}


def test_another_account_needs_an_allow(emu):
    keys = Keys(emu)
    other = emu.client("kms", BACKUP)
    for action, call in (
        ("kms:DescribeKey", lambda: other.describe_key(KeyId=keys.arn)),
        ("kms:Encrypt", lambda: other.encrypt(KeyId=keys.arn, Plaintext=b"x")),
        ("kms:Decrypt", lambda: other.decrypt(CiphertextBlob=keys.ciphertext)),
        ("kms:Decrypt", lambda: other.decrypt(CiphertextBlob=keys.ciphertext, KeyId=keys.arn)),
    ):
        _assert_access_denied(_refused(call), _implicit(BACKUP_SESSION, action, keys.arn))

    keys.set_policy(ROOT, SHARED)
    assert other.describe_key(KeyId=keys.arn)["KeyMetadata"]["Arn"] == keys.arn
    blob = other.encrypt(KeyId=keys.arn, Plaintext=b"from backup")["CiphertextBlob"]
    assert keys.kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from backup"
    assert other.decrypt(CiphertextBlob=keys.ciphertext)["Plaintext"] == b"secret"
    # Only the statement's actions: grants need their own Allow.
    _assert_access_denied(
        _refused(lambda: other.create_grant(KeyId=keys.arn, GranteePrincipal=BACKUP_SESSION, Operations=["Decrypt"])),
        _implicit(BACKUP_SESSION, "kms:CreateGrant", keys.arn),
    )


def test_grants_for_aws_resources_do_not_cover_direct_calls(emu):
    """``kms:GrantIsForAWSResource`` is true only when an AWS service creates the grant."""
    keys = Keys(emu)
    keys.set_policy(
        ROOT,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"},
            "Action": ["kms:CreateGrant", "kms:ListGrants"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    )
    _assert_access_denied(
        _refused(lambda: emu.client("kms", BACKUP).list_grants(KeyId=keys.arn)),
        _implicit(BACKUP_SESSION, "kms:ListGrants", keys.arn),
    )


def test_operations_that_do_not_work_across_accounts(emu):
    """KMS lets another account call only cryptographic operations, grants, DescribeKey,
    GetKeyRotationStatus and GetPublicKey; the others do not find the key in the caller's account."""
    keys = Keys(emu)
    keys.set_policy(ROOT, {**SHARED, "Action": "kms:*"})
    with pytest.raises(ClientError) as excinfo:
        emu.client("kms", BACKUP).get_key_policy(KeyId=keys.arn, PolicyName="default")
    assert excinfo.value.response["Error"]["Code"] == "NotFoundException"


# ------------------------------------------------------------------- lockout safety check

LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
BACKUP_ONLY = {**ROOT, "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"}}
UNMANAGEABLE = pytest.mark.emulator_only(reason="unsafe on AWS: leaves a key nobody in its account can manage")


def _assert_lockout(response: dict[str, Any]) -> None:
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"] == {"Code": "MalformedPolicyDocumentException", "Message": LOCKOUT}


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param([BACKUP_ONLY], marks=UNMANAGEABLE),
        [ROOT, {**guard("kms:PutKeyPolicy"), "Condition": {}}],
        pytest.param([{**ROOT, "Action": ["kms:Describe*", "kms:Get*"]}], marks=UNMANAGEABLE),
    ],
    ids=["other-account-only", "deny-put-key-policy", "no-put-key-policy"],
)
def test_put_key_policy_refuses_a_policy_that_locks_the_caller_out(emu, statements):
    keys = Keys(emu)
    _assert_lockout(
        _refused(lambda: keys.kms.put_key_policy(KeyId=keys.key_id, PolicyName="default", Policy=policy(*statements)))
    )
    assert json.loads(keys.kms.get_key_policy(KeyId=keys.key_id, PolicyName="default")["Policy"]) == json.loads(
        policy(ROOT)
    )
    keys.kms.put_key_policy(
        KeyId=keys.key_id, PolicyName="default", Policy=policy(*statements), BypassPolicyLockoutSafetyCheck=True
    )
    # Locked out of the key policy now, as KMS warns.
    response = _refused(lambda: keys.kms.put_key_policy(KeyId=keys.key_id, PolicyName="default", Policy=policy(ROOT)))
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert "kms:PutKeyPolicy" in response["Error"]["Message"]


def test_lockout_check_is_about_the_calling_principal(emu):
    keys = Keys(emu)
    # Only the administrator role may change the policy: fine for the administrator ...
    admin_only = [ROOT, guard("kms:PutKeyPolicy")]
    keys.admin.put_key_policy(KeyId=keys.key_id, PolicyName="default", Policy=policy(*admin_only))
    # ... refused for CofferDeployRole, by the current policy before the lockout check.
    response = _refused(
        lambda: keys.kms.put_key_policy(KeyId=keys.key_id, PolicyName="default", Policy=policy(ROOT))
    )
    _assert_access_denied(response, _explicit(SESSION_ARN, "kms:PutKeyPolicy", keys.arn))


@UNMANAGEABLE
def test_create_key_refuses_a_policy_that_locks_the_caller_out(emu):
    kms = emu.client("kms", SOURCE)
    before = len(kms.list_keys()["Keys"])
    _assert_lockout(_refused(lambda: kms.create_key(Policy=policy(BACKUP_ONLY))))
    assert len(kms.list_keys()["Keys"]) == before
    kms.create_key(Policy=policy(BACKUP_ONLY), BypassPolicyLockoutSafetyCheck=True)
    kms.create_key(Policy=policy(ROOT))
    kms.create_key()  # the default key policy allows the account root


@pytest.mark.emulator_only(reason="emulator-only feature: plain credentials act as moto's user moto")
def test_management_plain_credentials(emu):
    """Plain credentials act as the management account's user ``moto``."""
    kms = emu.client("kms", MANAGEMENT)
    key = kms.create_key(
        Policy=policy(
            {**ROOT, "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}},
            {
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:user/moto"},
                "Action": "kms:Encrypt",
                "Resource": "*",
            },
        )
    )["KeyMetadata"]
    _assert_access_denied(
        _refused(lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")),
        _explicit(f"arn:aws:sts::{MANAGEMENT}:user/moto", "kms:Encrypt", key["Arn"]),
    )


def test_ciphertext_that_is_not_moto_s_is_left_to_moto(emu):
    kms = emu.client("kms", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=base64.b64decode("bm90IGEgYmxvYg=="))
    assert excinfo.value.response["Error"]["Code"] == "InvalidCiphertextException"
    assert REGION  # the keys above are all in the tests' Region
