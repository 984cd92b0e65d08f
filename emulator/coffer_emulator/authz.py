"""Resource-policy decisions for calls made to the emulator and calls AWS makes on a caller's behalf.

The emulator models the resource side of IAM only; every principal is an administrator of its
own account (identity policies, SCPs and permission boundaries allow everything). Under that
model the final answer for a resource-based policy is (tests/policy-corpus/README.md):

* ``backup:`` actions (vault access policy): an explicit ``Deny`` denies; otherwise a principal
  of the vault's own account is allowed, and a principal of another account only when the
  policy allows it;
* ``kms:`` actions (key policy): an explicit ``Deny`` denies; otherwise the request is allowed
  only when the key policy allows it (a statement for the account root delegates to the
  account's IAM policies, which allow everything here).
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html]
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html]

``policy.access`` implements these rules (pinned by tests/policy-corpus).

Refusals name the caller, the action and the resource the way AWS words them:
``User: <caller ARN> is not authorized to perform: <action> on resource: <ARN> with an explicit
deny in a resource-based policy`` and ``... because no resource-based policy allows the
<action> action``.
[source: https://github.com/ekristen/aws-nuke/issues/604 (backup:DeleteBackupVaultAccessPolicy, explicit deny)]
[source: https://github.com/elastic/cloudbeat/issues/1749 (kms:GetKeyRotationStatus, no resource-based policy allows)]
"""

import json
from dataclasses import dataclass
from typing import Any

from . import policy
from .identity import Caller


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    explicit_deny: bool = False

    def message(self, caller_arn: str, action: str, resource: str) -> str:
        return denial_message(caller_arn, action, resource, self.explicit_deny)


ALLOWED = Verdict(True)


def denial_message(caller_arn: str, action: str, resource: str, explicit: bool) -> str:
    why = (
        "with an explicit deny in a resource-based policy"
        if explicit
        else f"because no resource-based policy allows the {action} action"
    )
    return f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {why}"


def request_for(
    caller: Caller, action: str, resource: str, extra_context: dict[str, str | list[str]] | None = None
) -> policy.Request:
    """The authorization question for ``caller`` doing ``action`` on ``resource``. The principal
    condition keys are set here explicitly (the evaluator fills them only when absent)."""
    context = caller.context()
    if action.lower().startswith("kms:"):
        context["kms:CallerAccount"] = caller.account
    context.update(extra_context or {})
    return policy.Request(
        action=action,
        account=caller.account,
        resource=resource,
        principal_arns=caller.principal_arns,
        context=context,
    )


def decide(document: str | dict[str, Any] | None, request: policy.Request, resource_account: str) -> Verdict:
    """The final answer for ``request`` against the resource policy ``document`` of a resource
    owned by ``resource_account`` (``None``: the resource has no policy)."""
    parsed = _parsed(document)
    try:
        allowed = policy.access(parsed, request, resource_account)
        explicit = (
            parsed is not None and not allowed and policy.evaluate(parsed, request) is policy.Decision.EXPLICIT_DENY
        )
    except (ValueError, TypeError, AttributeError, KeyError):  # a malformed statement: nothing applies
        allowed = policy.access({"Statement": []}, request, resource_account)
        explicit = False
    return ALLOWED if allowed else Verdict(False, explicit_deny=explicit)


def _parsed(document: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """The policy as a dict (None: the resource has no policy). A document that is not a policy
    (a KMS key policy stored with ``BypassPolicyLockoutSafetyCheck``) has no statement that applies."""
    if document is None or document == "":
        return None
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
        if not all(isinstance(s, dict) for s in policy.statements(parsed)):
            return {"Statement": []}
    except (ValueError, TypeError, AttributeError):
        return {"Statement": []}
    return parsed
