"""Who is calling: the principal behind each signed request, and the condition keys it carries.

The middleware resolves the calling principal once per request and keeps it in a context
variable for the duration of the call (``current()``), so the Backup extension can evaluate
vault access policies against it without threading it through moto.

* Credentials issued by ``sts:AssumeRole``: the principal is the role. IAM evaluates an
  assumed-role session as its role, so ``aws:PrincipalArn`` is the role ARN
  (``arn:aws:iam::ACCOUNT:role/PATH/NAME``, path included), while error messages name the
  session as ``sts:GetCallerIdentity`` reports it (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``).
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn]
* Access keys of an IAM user created in moto: that user (``arn:aws:iam::ACCOUNT:user/NAME``).
* Any other (plain) credentials act as moto's default user of the account they act as: error
  messages name it ``arn:aws:sts::ACCOUNT:user/moto`` (what ``sts:GetCallerIdentity`` answers
  for them, and what the ``sts:AssumeRole`` refusal already names), and its
  ``aws:PrincipalArn`` is the IAM user ARN ``arn:aws:iam::ACCOUNT:user/moto`` (the form IAM
  uses for a user).
* ``aws:PrincipalOrgID`` / ``aws:PrincipalOrgPaths`` are set when the caller's account is in an
  organization (moto's Organizations; management account included), from ``orgs.membership``.
  [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths]

The identity side of IAM is not modelled: every principal is an administrator of its own
account (see emulator/README.md, identity model).
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from . import orgs

PARTITION = "aws"


@dataclass(frozen=True)
class Caller:
    """The principal of one request."""

    account: str
    principal_arn: str  # aws:PrincipalArn: an IAM role or user ARN
    caller_arn: str  # as sts:GetCallerIdentity reports it (assumed-role session ARN for roles)
    org_id: str | None = None
    org_paths: tuple[str, ...] = ()

    @property
    def principal_arns(self) -> tuple[str, ...]:
        """ARNs a policy's ``Principal`` element may name for this caller (role, then session)."""
        return (self.principal_arn,) if self.caller_arn == self.principal_arn else (self.principal_arn, self.caller_arn)

    def context(self) -> dict[str, str | list[str]]:
        """The global condition keys describing this principal."""
        context: dict[str, str | list[str]] = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.account,
        }
        if self.org_id is not None:
            context["aws:PrincipalOrgID"] = self.org_id
            context["aws:PrincipalOrgPaths"] = list(self.org_paths)
        return context


def org_context(account: str) -> tuple[str | None, tuple[str, ...]]:
    membership = orgs.membership(account)
    if membership is None:
        return None, ()
    return membership.org_id, (membership.path,)


def for_role(role_arn: str, account: str, session_arn: str | None = None) -> Caller:
    """A principal acting as the IAM role ``role_arn`` (e.g. a job's role, a service-linked role)."""
    org_id, paths = org_context(account)
    return Caller(account, role_arn, session_arn or role_arn, org_id, paths)


def job_role(iam_role_arn: str, default_account: str) -> Caller:
    """A job's role (``IamRoleArn``) as a principal of the account its ARN names, else of
    ``default_account`` (the job's account)."""
    parts = iam_role_arn.split(":")
    account = parts[4] if len(parts) > 5 and parts[4].isdigit() and len(parts[4]) == 12 else default_account
    return for_role(iam_role_arn, account)


def resolve(access_key: str, account: str) -> Caller:
    """The principal behind ``access_key``, acting as ``account``."""
    org_id, paths = org_context(account)
    sts = _existing(sts_backends, account)
    assumed = sts.get_assumed_role_from_access_key(access_key) if sts is not None else None
    if assumed is not None:
        return Caller(account, assumed.role_arn, assumed.arn, org_id, paths)
    iam = _existing(iam_backends, account)
    user = iam.get_user_from_access_key_id(access_key) if iam is not None else None
    if user is not None:
        return Caller(account, user.arn, user.arn, org_id, paths)
    return Caller(
        account,
        f"arn:aws:iam::{account}:user/moto",
        f"arn:aws:sts::{account}:user/moto",
        org_id,
        paths,
    )


def _existing(backends: dict, account: str):  # type: ignore[type-arg,no-untyped-def]
    """The account's backend in the ``aws`` partition if moto has one, without creating it."""
    if account not in backends:
        return None
    per_account = backends[account]
    return per_account[PARTITION] if PARTITION in per_account.keys() else None


_CURRENT: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("coffer_caller", default=None)


def current() -> Caller | None:
    """The caller of the request being served, or None outside a signed request (world loading,
    jobs settling on their own)."""
    return _CURRENT.get()


@contextmanager
def acting_as(caller: Caller | None) -> Iterator[None]:
    token = _CURRENT.set(caller)
    try:
        yield
    finally:
        _CURRENT.reset(token)
