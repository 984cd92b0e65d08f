"""Organizations look-ups over moto's state: which organization an account is in, and where.

moto keeps an organization in its management account's backend and maps member account
IDs to that management account (``organizations_backends.master_accounts``). moto never clears
that map on a reset (``patches.py`` item 7 does), so an account counts as a member only while
its management account's organization lists it.
"""

from dataclasses import dataclass

from moto.organizations.models import OrganizationsBackend, organizations_backends

PARTITION = "aws"


@dataclass(frozen=True)
class Membership:
    """An account's place in its organization."""

    org_id: str
    management_account: str
    # aws:PrincipalOrgPaths value: "o-xxx/r-xxx/ou-xxx/.../" (the account's parent chain).
    path: str


def _existing_backend(account: str) -> OrganizationsBackend | None:
    """The account's Organizations backend if moto has one, without creating it."""
    if account not in organizations_backends:
        return None
    per_account = organizations_backends[account]
    if PARTITION not in per_account.keys():
        return None
    return per_account[PARTITION]


def membership(account: str) -> Membership | None:
    """The organization ``account`` belongs to (as member or management account), or None."""
    own = _existing_backend(account)
    if own is not None and own.org is not None:
        management = own
    elif account in organizations_backends.master_accounts:
        management_id, partition = organizations_backends.master_accounts[account]
        management = organizations_backends[management_id][partition]
    else:
        return None
    org = management.org
    if org is None or not any(member.id == account for member in management.accounts):
        return None  # a stale entry of moto's member map: the organization does not list the account
    return Membership(org.id, org.master_account_id, _path(management, account))


def _path(management: OrganizationsBackend, account: str) -> str:
    org = management.org
    assert org is not None
    parents = {ou.id: ou.parent_id for ou in management.ou}
    fake_account = next((a for a in management.accounts if a.id == account), None)
    chain: list[str] = []
    node: str | None = fake_account.parent_id if fake_account is not None else org.root_id
    while node is not None:
        chain.append(node)
        node = parents.get(node)
    return org.id + "/" + "".join(f"{part}/" for part in reversed(chain))
