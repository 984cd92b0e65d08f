"""Keys that AWS services use on a principal's behalf during backup, copy and restore jobs.

When AWS Backup (or RDS for it) uses a KMS key, KMS evaluates the key policy for the principal
the service acts for, with ``kms:ViaService`` naming the service endpoint, ``kms:CallerAccount``
the principal's account and ``kms:GrantIsForAWSResource`` true for the grants the service
creates. Jobs fail when a key policy denies them, or does not allow them.
[source: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service]
[source: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource]
[source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#backup-permissions-grants-deny-statements]
"""

from collections.abc import Sequence

from . import authz, consistency, keys
from .identity import Caller


def via(service: str, region: str) -> str:
    """The ``kms:ViaService`` value of a service endpoint, e.g. ``backup.eu-west-1.amazonaws.com``."""
    return f"{service}.{region}.amazonaws.com"


def refusal(
    key_arn: str,
    principal: Caller,
    who: str,
    actions: Sequence[str],
    via_service: str,
    *,
    missing_key_ok: bool = False,
) -> str | None:
    """Why the service cannot use ``key_arn`` for ``principal``, in parentheses, or None.

    ``who`` names the principal in the cause ("destination account 666777888999", ...).
    """
    location = keys.locate(key_arn, principal.account, "")
    key = keys.find_key(key_arn, location.account, location.region) if location.region else None
    if key is None:
        return None if missing_key_ok else "(The key does not exist.)"
    if key.key_state != "Enabled":
        return f"(The key is in state {key.key_state}.)"
    context: dict[str, str | list[str]] = {"kms:ViaService": via_service, "kms:GrantIsForAWSResource": "true"}
    denied: list[str] = []
    missing: list[str] = []
    for action in actions:
        document = consistency.key_policy(key)  # the previous policy while a change propagates
        verdict = authz.decide(document, authz.request_for(principal, action, key.arn, context), key.account_id)
        if not verdict.allowed:
            (denied if verdict.explicit_deny else missing).append(action)
    if denied:
        return f"(The key policy explicitly denies {who} {', '.join(denied)}.)"
    if missing:
        return f"(The key policy does not allow {who} {', '.join(missing)}.)"
    return None
