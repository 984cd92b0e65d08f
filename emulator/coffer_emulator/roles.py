"""``sts:AssumeRole`` into a role that does not exist is refused, as AWS refuses it.

moto issues credentials for any role ARN. AWS answers ``AccessDenied`` (HTTP 403, query
protocol XML error) with the message
``User: <caller ARN> is not authorized to perform: sts:AssumeRole on resource: <role ARN>``
when the caller may not assume the role, which is always the case for a role that does not
exist.

The emulator checks only that the role exists in the target account's IAM (moto's IAM
backend; world files create roles with ``roles``, Organizations creates
``OrganizationAccountAccessRole`` in member accounts). Trust policies are not evaluated. A
world turns the check off with ``require_existing_roles: false``.
"""

import re
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import PARTITION_NAMES, get_partition

from . import consistency, wire, world

_ROLE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role/.+$")


def assume_role_denial(
    call: wire.Call, environ: dict[str, Any], caller_account: str
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """The ``AccessDenied`` answer for an AssumeRole into a missing role, else None (moto
    answers). Role ARNs that are not IAM role ARNs are left to moto."""
    if call.service != "sts" or call.operation != "AssumeRole" or not world.CURRENT.require_existing_roles:
        return None
    role_arn = wire.query_parameter(environ, "RoleArn")
    match = _ROLE_ARN.match(role_arn or "")
    if role_arn is None or match is None or match["partition"] not in PARTITION_NAMES:
        return None
    if role_exists(match["account"], match["partition"], role_arn):
        return None
    message = (
        f"User: {caller_arn(caller_account, call)} is not authorized to perform: sts:AssumeRole "
        f"on resource: {role_arn}"
    )
    return wire.query_error_response(call, 403, "AccessDenied", message)


def role_exists(account_id: str, partition: str, role_arn: str) -> bool:
    """Whether moto's IAM in ``account_id`` has a role with exactly this ARN (path included),
    visible already (a role created less than the ``new_role`` delay ago is not, see
    ``consistency.py``). Looks without creating state for accounts IAM has never seen."""
    if account_id not in iam_backends or partition not in iam_backends[account_id].keys():
        return False
    roles = iam_backends[account_id][partition].get_roles()
    return any(role.arn == role_arn for role in roles) and consistency.role_visible(role_arn)


def caller_arn(account_id: str, call: wire.Call) -> str:
    """The caller's ARN as ``sts:GetCallerIdentity`` would report it for these credentials."""
    backend = sts_backends[account_id][get_partition(call.region)]
    _, arn, _ = backend.get_caller_identity(call.access_key, call.region)
    return arn
