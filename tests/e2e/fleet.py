"""A generated fleet: one management account, one central backup account and ``n`` source
accounts, each with, in each Region, a key (an alias, usable by the backup account), a vault
with an access policy and a backup plan whose selection backs up by tag and copies to the
central vault of that Region. ``topology(n)`` is the file, ``world(n)`` the emulator world it
runs against; ``expected_calls(n)`` is what an in-sync read of it may cost at most.

Used by ``tests/e2e/test_e2e_api_calls.py`` and ``scripts/bench_fleet.py``."""

REGIONS = ("eu-west-1", "eu-central-1")
MANAGEMENT = "100000000000"
BACKUP = "900000000000"
ORG_ID = "o-fleet00000"
OU = "ou-f1ee-00000001"


def source(i: int) -> str:
    """The ``i``-th source account's ID."""
    return f"{200_000_000_000 + i:012d}"


def topology(n: int, name: str = "fleet") -> str:
    """The topology of ``n`` source accounts, in YAML."""
    out = [
        f"version: 1\nname: {name}\norganization:\n  id: {ORG_ID}\n  management_account: management\n"
        f"  cross_account_backup: enabled\ndefaults:\n  region: {REGIONS[0]}\n  role: CofferDeployRole\n"
        f'accounts:\n  management: {{id: "{MANAGEMENT}"}}\n  backup: {{id: "{BACKUP}"}}\n'
    ]
    out += [f'  s{i}: {{id: "{source(i)}"}}\n' for i in range(n)]
    out.append("keys:\n")
    for r, region in enumerate(REGIONS):
        out.append(f"  central{r}: {{account: backup, region: {region}, alias: alias/backup/central}}\n")
        out += [
            f"  k{i}r{r}: {{account: s{i}, region: {region}, alias: alias/backup/source, usable_by: [backup]}}\n"
            for i in range(n)
        ]
    out.append("vaults:\n")
    for r, region in enumerate(REGIONS):
        out.append(
            f"  central{r}:\n    account: backup\n    region: {region}\n    name: central\n    key: central{r}\n"
            "    access_policy: {organization: true, deny_recovery_point_deletion: true}\n"
        )
        out += [
            f"  v{i}r{r}: {{account: s{i}, region: {region}, name: local, key: k{i}r{r}, "
            "access_policy: {allow_copy_from: [backup]}}\n"
            for i in range(n)
        ]
    out.append("backup_plans:\n")
    for r, region in enumerate(REGIONS):
        out += [
            f"  p{i}r{r}:\n    account: s{i}\n    region: {region}\n    rules:\n      - name: daily\n"
            f"        vault: v{i}r{r}\n        lifecycle: {{delete_after_days: 35}}\n"
            f"        copy_to: [{{vault: central{r}, lifecycle: {{delete_after_days: 90}}}}]\n"
            "    selections:\n      - name: tagged\n        role: service-default\n        tags: {backup: daily}\n"
            for i in range(n)
        ]
    return "".join(out)


def world(n: int) -> str:
    """The emulator world of ``n`` source accounts: the organization and every account's roles."""
    members = [("backup", BACKUP)] + [(f"s{i}", source(i)) for i in range(n)]
    out = [
        f"region: {REGIONS[0]}\norganization:\n  id: {ORG_ID}\n  root_id: r-f1ee\n  management_account:\n"
        f'    id: "{MANAGEMENT}"\n    name: management\n    email: management@example.com\n'
        f"  organizational_units:\n    - id: {OU}\n      name: fleet\n  accounts:\n"
    ]
    out += [
        f'    - id: "{account}"\n      name: {name}\n      email: {name}@example.com\n      parent: {OU}\n'
        for name, account in members
    ]
    out.append(f'accounts:\n  - id: "{MANAGEMENT}"\n    roles: [CofferDeployRole]\n')
    service_role = "{name: AWSBackupDefaultServiceRole, path: /service-role/, trusts: backup.amazonaws.com}"
    out += [f'  - id: "{account}"\n    roles: [CofferDeployRole, {service_role}]\n' for _, account in members]
    return "".join(out)


# What an in-sync read costs, by where it is made (tests/e2e/test_e2e_api_calls.py asserts it).
PER_SOURCE_REGION = (
    "tag:GetResources kms:DescribeKey kms:GetKeyPolicy kms:GetKeyRotationStatus "
    "backup:ListBackupVaults backup:GetBackupVaultAccessPolicy backup:GetBackupPlan "
    "backup:ListBackupSelections backup:GetBackupSelection"
).split()
PER_ACCOUNT = ["sts:AssumeRole", "iam:GetRole"]  # the role, the selections' service role
# The central backup account's Region with its vault and key reads as a source does, without
# the plan; the management account reads the tagged set and AWS Backup's global settings per
# Region, and the organization once.
PER_CENTRAL_REGION = PER_SOURCE_REGION[:6]
PER_MANAGEMENT_REGION = ["tag:GetResources", "backup:DescribeGlobalSettings"]
ORGANIZATION = ["organizations:DescribeOrganization"]
LIST_ACCOUNTS_PAGE = 20


def expected_calls(n: int) -> int:
    """The most calls an in-sync read of the fleet of ``n`` sources makes."""
    regions = len(REGIONS)
    sources = n * (regions * len(PER_SOURCE_REGION) + len(PER_ACCOUNT))
    central = 1 + regions * len(PER_CENTRAL_REGION)  # its AssumeRole; no selection role
    management = 1 + regions * len(PER_MANAGEMENT_REGION) + len(ORGANIZATION)
    list_pages = -(-(n + 2) // LIST_ACCOUNTS_PAGE)
    return sources + central + management + list_pages
