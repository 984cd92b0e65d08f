//! Copy edges: the destination vault (not the default one, with a customer managed key,
//! existing, letting the source account copy in) and the way back for restores (CB003-CB006,
//! CB026-CB028).

use serde_json::json;

use crate::fixtures::*;

rows! {
    cb003_default_vault_destination: "CB003", "copies go to the backup account's default vault",
        fail: || seed_edited("    name: central\n", "    name: Default\n"),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`backup`"];

    cb004_destination_without_key: "CB004", "the central vault has no customer managed key",
        fail: || seed_edited("    key: backup-vault\n", ""),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`central`"];

    cb005_static_no_copy_allowed: "CB005", "the file's central vault lets nobody copy in (static)",
        fail: || file(&central_closed()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`central`", "`source`", SOURCE];

    cb005_static_no_access_policy: "CB005", "the file's central vault has no access policy (static)",
        fail: || seed_edited(
            "    access_policy:\n      organization: true\n      # Nobody but the break-glass role may delete or shorten the copies, or delete the vault;\n      # only Coffer's role and the break-glass role may change this policy or the lock. The\n      # vault's key gets the key guard.\n      deny_recovery_point_deletion: true\n      break_glass_principals: [arn:aws:iam::666777888999:role/BreakGlass]\n",
            "",
        ),
        pass: || file(SEED),
        subject: "line *",
        message: ["`central`", "no access policy"];

    cb005_live_organization_statement_removed: "CB005", "the central vault's copy-in statement was removed",
        fail: || seed_live(|state| {
            central_policy(state).retain(|s| s["Sid"] != "CofferCopyFromOrganization");
        }),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb005_live_organization_changed: "CB005", "the copy-in statement names another organization",
        fail: || seed_live(|state| {
            for statement in central_policy(state) {
                if statement["Sid"] == "CofferCopyFromOrganization" {
                    statement["Condition"] = json!({"StringEquals": {"aws:PrincipalOrgID": "o-elsewhere01"}});
                }
            }
        }),
        // The account named directly is allowed without any organization.
        pass: || seed_live(|state| {
            central_policy(state).retain(|s| s["Sid"] != "CofferCopyFromOrganization");
            central_policy(state).push(json!({
                "Effect": "Allow",
                "Principal": {"AWS": SOURCE},
                "Action": "backup:CopyIntoBackupVault",
                "Resource": "*",
            }));
        }),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb005_live_policy_deleted: "CB005", "the central vault's access policy was deleted",
        fail: || seed_live(|state| vault(state, BACKUP, "central").access_policy = None),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", "no access policy", SOURCE];

    cb005_live_after_plan_of_closed_file: "CB005", "the plan of a file whose vault lets nobody copy in",
        fail: || after_plan(&central_closed(), &seed_converged()),
        // Live mode evaluates the state, not the file's diagnostic: the policy still allows.
        pass: || seed_state(&central_closed()),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb006_deny_copy_from_source: "CB006", "the central vault's policy denies the source account's copies",
        fail: || seed_live(|state| central_policy(state).push(json!({
            "Sid": "NoCopiesFromSource",
            "Effect": "Deny",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }))),
        // The seed's deletion guard is a Deny for `*`, but not of copies.
        pass: || seed_live(|state| central_policy(state).push(json!({
            "Sid": "NoCopiesFromElsewhere",
            "Effect": "Deny",
            "Principal": {"AWS": root("123456789012")},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }))),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb006_organization_guard: "CB006", "a guard denies copies from outside another organization",
        fail: || seed_live(|state| central_policy(state).push(organization_guard("o-elsewhere01"))),
        // The usual guard, denying copies from outside the source's own organization.
        pass: || seed_live(|state| central_policy(state).push(organization_guard("o-coffer0seed"))),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb026_no_copy_back: "CB026", "the source vault does not let the backup account copy back",
        fail: || seed_edited(
            "    access_policy:\n      # Restores can be copied back from the backup account.\n      allow_copy_from: [backup]\n",
            "",
        ),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`source`", "`backup`"];

    cb027_destination_vault_deleted: "CB027", "the central vault was deleted",
        fail: || seed_live(|state| region(state, BACKUP).vaults.retain(|v| v.name != "central")),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", BACKUP];

    cb027_copy_action_to_missing_vault: "CB027", "the live plan copies into a vault that does not exist",
        fail: || seed_live(|state| {
            region(state, SOURCE).backup_plans[0].rules[0].copy_actions[0].destination_vault_arn =
                format!("arn:aws:backup:{REGION}:{BACKUP}:backup-vault:gone");
        }),
        pass: || seed_live(|_| {}),
        subject: "backup_plan.orders-daily rule daily -> arn:aws:backup:eu-west-1:666777888999:backup-vault:gone",
        message: ["does not exist"];

    cb028_rds_cross_region_and_account: "CB028", "the central vault moves to eu-central-1",
        fail: || file(&edit(
            &edit(
                SEED,
                "    alias: alias/coffer/backup-vault\n",
                "    alias: alias/coffer/backup-vault\n    region: eu-central-1\n",
            ),
            "    name: central\n",
            "    name: central\n    region: eu-central-1\n",
        )),
        pass: || file(SEED),
        subject: EDGE,
        message: ["eu-west-1 -> eu-central-1"];
}
