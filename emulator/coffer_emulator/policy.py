"""A small evaluator for resource-based policies (vault access policies, KMS key policies).

It implements the parts of the IAM policy language that cross-account backup
topologies use, following the IAM policy evaluation logic:

* an explicit ``Deny`` wins over any ``Allow``; with no matching ``Allow`` the request is
  implicitly denied
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html];
* ``Principal`` / ``NotPrincipal``: ``"*"``, ``{"AWS": "*"}``, an account ID, an account root
  ARN (both mean "the account"), or an exact role ARN
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html];
* ``Action`` / ``NotAction`` and ``Resource`` / ``NotResource`` with ``*`` and ``?`` wildcards
  (actions compare case-insensitively); a statement without ``Action`` or ``Resource`` has no
  effect (aws-rules.md section 6.1);
* ``Condition`` operators ``String[Not]Equals[IgnoreCase]``, ``String[Not]Like``, ``Bool``,
  ``Arn[Not]Equals``, ``Arn[Not]Like``, with the ``ForAnyValue:`` / ``ForAllValues:`` set
  qualifiers and the ``...IfExists`` suffix
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html].
  A statement with an operator outside this list never matches.
"""

import fnmatch
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``account`` (acting as one of ``principal_arns``) do ``action``?"""

    action: str
    account: str
    resource: str
    principal_arns: tuple[str, ...] = ()
    context: dict[str, str | list[str]] = field(default_factory=dict)


def parse(document: str | dict[str, Any]) -> dict[str, Any]:
    """The policy as a dict; raises ValueError if it is not a JSON object with statements."""
    doc = json.loads(document) if isinstance(document, str) else document
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise ValueError("policy document must be a JSON object with a Statement element")
    return doc


def statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    raw = parse(document)["Statement"]
    return [raw] if isinstance(raw, dict) else list(raw)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def evaluate(document: str | dict[str, Any], request: Request) -> Decision:
    allowed = False
    for statement in statements(document):
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.EXPLICIT_DENY
        if statement.get("Effect") == "Allow":
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def _applies(statement: dict[str, Any], request: Request) -> bool:
    if "Principal" in statement:
        principal_ok = _principal_matches(statement["Principal"], request)
    elif "NotPrincipal" in statement:
        principal_ok = not _principal_matches(statement["NotPrincipal"], request)
    else:
        return False
    if "Action" in statement:
        action_ok = any(_action_matches(p, request.action) for p in as_list(statement["Action"]))
    elif "NotAction" in statement:
        action_ok = not any(_action_matches(p, request.action) for p in as_list(statement["NotAction"]))
    else:
        return False
    if "Resource" in statement:
        resource_ok = any(fnmatch.fnmatchcase(request.resource, p) for p in as_list(statement["Resource"]))
    elif "NotResource" in statement:
        resource_ok = not any(fnmatch.fnmatchcase(request.resource, p) for p in as_list(statement["NotResource"]))
    else:
        return False
    return (
        principal_ok and action_ok and resource_ok and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in as_list(principal.get("AWS")):
        if value == "*" or value == request.account:
            return True
        if value == f"arn:aws:iam::{request.account}:root" or value in request.principal_arns:
            return True
    return False


def _action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def has_wildcard_action(statement: dict[str, Any]) -> bool:
    """True if the statement's ``Action`` uses ``*`` or ``?`` anywhere."""
    return any("*" in a or "?" in a for a in as_list(statement.get("Action")))


_BASE_OPERATORS = {
    "StringEquals": lambda ctx, pol: ctx == pol,
    "StringEqualsIgnoreCase": lambda ctx, pol: ctx.lower() == pol.lower(),
    "StringLike": lambda ctx, pol: fnmatch.fnmatchcase(ctx, pol),
    "Bool": lambda ctx, pol: ctx.lower() == str(pol).lower(),
    "ArnEquals": lambda ctx, pol: ctx == pol,
    "ArnLike": lambda ctx, pol: fnmatch.fnmatchcase(ctx, pol),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str | list[str]]) -> bool:
    for operator, entries in conditions.items():
        for key, policy_values in entries.items():
            if not _condition_holds(operator, key, as_list(policy_values), context):
                return False
    return True


def _condition_holds(operator: str, key: str, policy_values: list[Any], context: dict[str, str | list[str]]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    negated = op in _NEGATED
    base = _BASE_OPERATORS.get(_NEGATED.get(op, op))
    if base is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return False
    lookup = {k.lower(): v for k, v in context.items()}
    if key.lower() not in lookup:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier == "")
    values = as_list(lookup[key.lower()])

    def element(value: str) -> bool:
        matched = any(base(str(value), str(p)) for p in policy_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(element(v) for v in values)
    if qualifier == "ForAnyValue" or not negated:
        return any(element(v) for v in values)
    return all(element(v) for v in values)
