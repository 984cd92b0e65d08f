"""KMS look-ups shared by the Backup extension, the RDS patch and the world loader.

All functions read moto's KMS state (``moto.kms.models.kms_backends``) for one
account and Region, exactly as a KMS call made with that account's credentials would.
"""

import json
import re
from dataclasses import dataclass

from moto.kms.models import Key, KmsBackend, kms_backends

# Key and alias ARNs, in any partition.
KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:(?P<region>[^:]+):(?P<account>\d{12}):key/(?P<id>.+)$")
ALIAS_ARN = re.compile(r"^arn:aws[\w-]*:kms:(?P<region>[^:]+):(?P<account>\d{12}):(?P<alias>alias/.+)$")

# Descriptions AWS gives its managed keys ("Default key that protects my ... when no other
# key is defined"); the service name is the part after ``alias/aws/``.
_MANAGED_KEY_SUBJECT = {
    "rds": "RDS database volumes",
    "backup": "Backup vaults",
    "ebs": "EBS volumes",
    "s3": "S3 objects",
}


@dataclass(frozen=True)
class KeyLocation:
    """Where a key reference points: account, Region and the reference local to them."""

    account: str
    region: str
    ref: str  # key id or alias name ("alias/...")


def locate(ref: str, account: str, region: str) -> KeyLocation:
    """Split a key id, key ARN, alias name or alias ARN into account, Region and local ref.

    Bare key ids and alias names are relative to the caller's ``account`` and ``region``,
    as in KMS itself.
    """
    match = KEY_ARN.match(ref)
    if match:
        return KeyLocation(match["account"], match["region"], match["id"])
    match = ALIAS_ARN.match(ref)
    if match:
        return KeyLocation(match["account"], match["region"], match["alias"])
    return KeyLocation(account, region, ref)


def backend(account: str, region: str) -> KmsBackend:
    return kms_backends[account][region]


def alias_arn(account: str, region: str, alias: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{alias}"


def find_key(ref: str, account: str, region: str) -> Key | None:
    """The key that ``ref`` names right now, or None (no AWS managed key is created here)."""
    loc = locate(ref, account, region)
    kms = backend(loc.account, loc.region)
    if loc.ref.startswith("alias/"):
        for key in kms.keys.values():
            if loc.ref in key.aliases:
                return key
        return None
    return kms.keys.get(loc.ref)


def aws_managed_key(account: str, region: str, service: str) -> Key:
    """The AWS managed key ``alias/aws/<service>`` of an account and Region, created on first use.

    AWS creates these keys the first time a service needs them; their ``KeyManager`` is
    ``AWS`` and their key policy only lets the owning account use them through that
    service, which is why they can never be shared with another account.
    [source: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html]
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
    """
    alias = f"alias/aws/{service}"
    existing = find_key(alias, account, region)
    if existing is not None:
        return existing
    kms = backend(account, region)
    subject = _MANAGED_KEY_SUBJECT.get(service, f"{service} resources")
    key = kms.create_key(
        policy=_managed_key_policy(account, region, service),
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description=f"Default key that protects my {subject} when no other key is defined",
        tags=None,
    )
    key.key_manager = "AWS"
    kms.create_alias(key.id, alias)
    return key


def _managed_key_policy(account: str, region: str, service: str) -> str:
    """The shape of AWS's auto-generated policy for an AWS managed key (e.g. ``auto-rds-2``)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-2",
            "Statement": [
                {
                    "Sid": f"Allow access through {service} for all principals in the account "
                    f"that are authorized to use {service}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:ListGrants",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"{service}.{region}.amazonaws.com",
                            "kms:CallerAccount": account,
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )
