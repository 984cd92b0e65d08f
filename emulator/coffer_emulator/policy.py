"""An evaluator for resource-based policies (vault access policies, KMS key policies).

It implements the parts of the IAM policy language that cross-account backup topologies use.
Every rule below is pinned by a case of the shared corpus ``tests/policy-corpus/*.json``
(``emulator/tests/test_policy_corpus.py``), which Coffer's Rust engine runs too.

* Evaluation order: an explicit ``Deny`` wins over any ``Allow``; with no matching ``Allow`` the
  request is implicitly denied (``evaluate`` returns a ``Decision``)
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html].
  ``Statement`` may be one object or a list, ``Version`` may be absent
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html].
* ``Principal``: ``"*"`` matches every principal (service principals included), ``{"AWS": "*"}``
  every IAM principal of any account (whether it also covers service principals is not pinned by
  the corpus; here it does not); an account ID and the account root ARN both mean every
  principal of the account;
  an IAM role or user ARN matches exactly (a role ARN includes its path; no partial
  wildcards); ``{"Service": "backup.amazonaws.com"}`` matches a request made by that service
  principal (``principal_arns`` holds the service name)
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html].
* ``NotPrincipal`` (with ``Deny``): the statement spares a caller only when both its account
  and its own ARN are listed; naming a role without its account still denies that role
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html].
* ``Action`` / ``NotAction`` with ``*`` and ``?``, compared case-insensitively
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html];
  ``Resource`` / ``NotResource`` with ``*`` and ``?``, compared case-sensitively
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html].
  A statement without a principal, action or resource element never applies.
* ``Condition``: operators AND, keys AND, values OR, negated operators NOR over the values;
  condition key names are case-insensitive. A key missing from the request makes a positive
  operator false and a negated one (``StringNotEquals``, ``ArnNotLike``, ...) true;
  ``...IfExists`` makes a missing key true; ``Null`` tests presence. Operators:
  ``String[Not]Equals[IgnoreCase]``, ``String[Not]Like``, ``Arn[Not]Equals``, ``Arn[Not]Like``
  (case-sensitive; each of the six colon-delimited ARN components is matched on its own, so
  ``*`` never spans a ``:`` outside the resource component; ``ArnEquals`` behaves as
  ``ArnLike``), ``Bool`` (``"true"``/``"false"`` or JSON booleans), ``Null``, ``Numeric*``,
  ``Date*`` (ISO 8601 or epoch seconds)
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html]
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html].
  A statement with an operator outside this list never matches.
* ``ForAnyValue:`` / ``ForAllValues:`` over multivalued keys (``aws:PrincipalOrgPaths``,
  ``kms:GrantOperations``): any / every request value must match some policy value; an absent
  key makes ``ForAnyValue`` false and ``ForAllValues`` true
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html].
* Automatic condition keys: unless the request's context sets them, ``aws:PrincipalArn`` is the
  first of ``principal_arns`` (an IAM ARN), ``aws:PrincipalAccount`` and ``kms:CallerAccount``
  are ``account``; none is added for a service principal
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html]
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account].

``access`` turns the policy's decision into the final answer under the emulator's identity
model (every principal administers its own account; tests/policy-corpus/README.md):

* ``kms:`` actions (key policy): allowed only when the key policy allows the request and
  nothing denies it; a statement for the account root delegates to the account's IAM
  policies, which allow everything here
  [source: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html];
* ``backup:`` (and any other) actions: an explicit ``Deny`` denies; otherwise a principal of the
  resource's own account is allowed, a principal of another account only when the policy allows
  it [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html];
* service principals: allowed only when the policy allows them and nothing denies.
"""

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``account`` (acting as one of ``principal_arns``) do ``action``?

    ``principal_arns`` holds the caller's IAM ARNs (the role first, then e.g. its session), or
    the name of a service principal (``backup.amazonaws.com``, with ``account`` empty) for a
    call a service makes on its own behalf."""

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


def is_service_principal(principal: str) -> bool:
    """True for a service principal name (``backup.amazonaws.com``), false for an ARN."""
    return not principal.startswith("arn:")


def request_context(request: Request) -> dict[str, str | list[str]]:
    """The request's condition keys, with the automatic principal keys added where absent."""
    context = dict(request.context)
    present = {key.lower() for key in context}
    first = request.principal_arns[0] if request.principal_arns else None
    if first is not None and is_service_principal(first):
        return context

    def add(key: str, value: str | None) -> None:
        if value and key.lower() not in present:
            context[key] = value

    add("aws:PrincipalArn", first)
    add("aws:PrincipalAccount", request.account)
    add("kms:CallerAccount", request.account)
    return context


def evaluate(document: str | dict[str, Any], request: Request) -> Decision:
    """The resource-based policy's own answer to ``request``."""
    context = {key.lower(): value for key, value in request_context(request).items()}
    allowed = False
    for statement in statements(document):
        if not _applies(statement, request, context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.EXPLICIT_DENY
        if statement.get("Effect") == "Allow":
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def access(document: str | dict[str, Any] | None, request: Request, resource_account: str) -> bool:
    """The final answer for ``request`` on a resource of ``resource_account`` whose policy is
    ``document`` (``None``: the resource has no policy), under the emulator's identity model
    (module docstring)."""
    decision = Decision.IMPLICIT_DENY if document is None or document == "" else evaluate(document, request)
    if decision is Decision.EXPLICIT_DENY:
        return False
    if decision is Decision.ALLOW:
        return True
    service_principal = any(is_service_principal(p) for p in request.principal_arns[:1])
    if service_principal or request.action.lower().startswith("kms:"):
        return False
    return bool(request.account) and request.account == resource_account


def has_wildcard_action(statement: dict[str, Any]) -> bool:
    """True if the statement's ``Action`` uses ``*`` or ``?`` anywhere."""
    return any("*" in a or "?" in a for a in as_list(statement.get("Action")))


# -- statements ------------------------------------------------------------------------------


def _applies(statement: dict[str, Any], request: Request, context: dict[str, Any]) -> bool:
    """The statement's principal, action and resource elements (or their ``Not`` forms) all match
    the request, and its conditions hold. A statement without one of the three never applies."""
    matches = (
        _principal_element(statement, request),
        _pattern_element(statement, "Action", request.action, ignore_case=True),
        _pattern_element(statement, "Resource", request.resource, ignore_case=False),
    )
    if not all(matches):
        return False
    conditions = statement.get("Condition", {})
    return isinstance(conditions, dict) and _conditions_hold(conditions, context)


def _principal_element(statement: dict[str, Any], request: Request) -> bool | None:
    """``Principal`` names the caller, or ``NotPrincipal`` does not; None without either."""
    if "Principal" in statement:
        return _principal_matches(statement["Principal"], request)
    if "NotPrincipal" in statement:
        return not _named_by_not_principal(statement["NotPrincipal"], request)
    return None


def _pattern_element(statement: dict[str, Any], name: str, value: str, ignore_case: bool) -> bool | None:
    """``<name>`` (``Action``, ``Resource``) has a pattern that matches ``value``, or ``Not<name>``
    has none; None without either."""
    for element, listed in ((name, True), (f"Not{name}", False)):
        if element in statement:
            return any(_glob(str(p), value, ignore_case) for p in as_list(statement[element])) == listed
    return None


def _root_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def _account_named(values: list[Any], account: str) -> bool:
    return bool(account) and (account in values or _root_arn(account) in values)


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, raw in principal.items():
        values = as_list(raw)
        if kind == "AWS":
            arns = [arn for arn in request.principal_arns if not is_service_principal(arn)]
            if "*" in values and (arns or request.account):
                return True
            if _account_named(values, request.account) or any(arn in values for arn in arns):
                return True
        elif any(name in values for name in request.principal_arns if is_service_principal(name)):
            return True  # "Service" (and other non-AWS kinds): an exact service principal name
    return False


def _named_by_not_principal(not_principal: Any, request: Request) -> bool:
    """True when ``NotPrincipal`` names the caller, so the statement does not apply to it: every
    identity layer of the caller must be listed (its account, then its own ARN)."""
    if not_principal == "*":
        return True
    if not isinstance(not_principal, dict):
        return False
    aws = as_list(not_principal.get("AWS"))
    if "*" in aws:
        return True
    services = [n for kind, raw in not_principal.items() if kind != "AWS" for n in as_list(raw)]
    if any(is_service_principal(p) for p in request.principal_arns[:1]):
        return any(p in services for p in request.principal_arns)
    if not _account_named(aws, request.account):
        return False
    own = [arn for arn in request.principal_arns if arn != _root_arn(request.account)]
    return not own or any(arn in aws for arn in own)


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _glob(pattern: str, value: str, ignore_case: bool) -> bool:
    """``*`` matches any run of characters, ``?`` one character; nothing else is special."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(value: str, pattern: str) -> bool:
    """ArnLike: each of the six colon-delimited components matched on its own (case-sensitive);
    the sixth (the resource) keeps any further colons. Fewer than six components never match."""
    values = value.split(":", 5)
    patterns = pattern.split(":", 5)
    if len(values) != 6 or len(patterns) != 6:
        return False
    return all(_glob(p, v, False) for p, v in zip(patterns, values, strict=True))


# -- conditions ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A policy or context value as IAM compares it (JSON booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _date(value: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time or an epoch number."""
    number = _number(value)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _compare(convert, test):  # type: ignore[no-untyped-def]
    def operator(ctx: str, pol: str) -> bool:
        left, right = convert(ctx), convert(pol)
        return left is not None and right is not None and test(left, right)

    return operator


_ORDERINGS = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

_BASE_OPERATORS = {
    "StringEquals": lambda ctx, pol: ctx == pol,
    "StringEqualsIgnoreCase": lambda ctx, pol: ctx.casefold() == pol.casefold(),
    "StringLike": lambda ctx, pol: _glob(pol, ctx, False),
    "Bool": lambda ctx, pol: ctx.lower() == pol.lower(),
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    **{f"Numeric{name}": _compare(_number, test) for name, test in _ORDERINGS.items()},
    **{f"Date{name}": _compare(_date, test) for name, test in _ORDERINGS.items()},
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
}


def _conditions_hold(conditions: dict[str, Any], context: dict[str, Any]) -> bool:
    """``context`` has lower-cased keys. Operators AND, keys AND."""
    for operator, entries in conditions.items():
        if not isinstance(entries, dict):
            return False
        for key, policy_values in entries.items():
            if not _condition_holds(operator, key, as_list(policy_values), context):
                return False
    return True


def _condition_holds(operator: str, key: str, policy_values: list[Any], context: dict[str, Any]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return False
    present = key.lower() in context and as_list(context[key.lower()]) != []
    if op == "Null":
        if qualifier:
            return False
        return any(_text(p).lower() == ("false" if present else "true") for p in policy_values)
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    negated = op in _NEGATED
    base = _BASE_OPERATORS.get(_NEGATED.get(op, op))
    if base is None:
        return False
    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        return negated and qualifier == ""
    values = [_text(v) for v in as_list(context[key.lower()])]
    wanted = [_text(p) for p in policy_values]

    def element(value: str) -> bool:
        matched = any(base(value, p) for p in wanted)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(element(v) for v in values)
    if qualifier == "ForAnyValue" or not negated:
        return any(element(v) for v in values)
    return all(element(v) for v in values)
