"""Failures name the account, the role and the call: a role that cannot be assumed stops the
reads of its account with "cannot assume role X in account Y (name): check the role's trust
policy", and nothing else is called in that account."""

from coffer_e2e import ACCOUNTS, BACKUP, MANAGEMENT, SOURCE, topology_variant

NAMES = {MANAGEMENT: "management", SOURCE: "source", BACKUP: "backup"}


def missing_role_topology(tmp_path):
    return topology_variant(tmp_path, "missing-role", ("  role: CofferDeployRole\n", "  role: MissingRole\n"))


def test_unassumable_role_fails_per_account_naming_role_account_and_call(emu, coffer, tmp_path):
    topology = missing_role_topology(tmp_path)
    emu.admin("DELETE", "requests")

    result = coffer.run("plan", "--detailed-exitcode", topology=topology)

    assert result.code == 1, result
    for account in ACCOUNTS:
        role = f"arn:aws:iam::{account}:role/MissingRole"
        (line,) = [line for line in result.stderr.splitlines() if f"cannot assume role {role} " in line]
        assert f"cannot assume role {role} in account {account} ({NAMES[account]})" in line, result
        assert f"account `{NAMES[account]}` ({account})" in line, line
        assert "sts:AssumeRole: AccessDenied" in line, line
        assert "trust policy" in line and "base credentials" in line, line
        # STS's own answer, with the role it refused.
        assert f"is not authorized to perform: sts:AssumeRole on resource: {role}" in line, line

    # After the refused AssumeRole, nothing else was called for these accounts: AssumeRole is
    # logged under the caller (the management account's base credentials), and no call ran
    # with assumed-role credentials.
    requests = emu.admin("GET", "requests")["requests"]
    for account in ACCOUNTS:
        other = [r for r in requests if r["account"] == account and r["service"] != "sts"]
        assert other == [], f"{account}: {other}"
    sts = [(r["account"], r["operation"], r["status"]) for r in requests]
    assert sts and set(sts) == {(MANAGEMENT, "AssumeRole", 403)}, sts
    # One refused AssumeRole per account: an account whose role failed is not tried again.
    assert len(sts) == len(ACCOUNTS), sts


def test_role_flag_overrides_the_file(emu, coffer, tmp_path):
    topology = missing_role_topology(tmp_path)
    result = coffer.run("plan", "--detailed-exitcode", "--role", "CofferDeployRole", topology=topology)
    assert result.code in (0, 2), result
    assert "cannot assume role" not in result.stderr, result
