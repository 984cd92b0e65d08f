//! The organization: declared, every account a member, cross-account backup on (CB001, CB002,
//! CB030).

use crate::fixtures::*;

rows! {
    cb001_account_in_another_organization: "CB001", "the source account reads another organization",
        fail: || seed_live(|state| {
            let account = state.accounts.get_mut(SOURCE).expect("source account");
            account.organization_read = true;
            account.organization_id = Some("o-elsewhere01".into());
        }),
        pass: || seed_live(|state| {
            for account in state.accounts.values_mut() {
                account.organization_read = true;
                account.organization_id = Some("o-coffer0seed".into());
            }
        }),
        subject: "account.source",
        message: [SOURCE, "o-elsewhere01", "o-coffer0seed"];

    cb001_account_in_no_organization: "CB001", "the backup account reads no organization",
        fail: || seed_live(|state| {
            let account = state.accounts.get_mut(BACKUP).expect("backup account");
            account.organization_read = true;
            account.organization_id = None;
        }),
        pass: || seed_live(|state| {
            // Not read (access denied): nothing is known, nothing is reported.
            let account = state.accounts.get_mut(BACKUP).expect("backup account");
            account.organization_read = false;
            account.organization_id = None;
        }),
        subject: "account.backup",
        message: [BACKUP, "no organization"];

    cb002_static_disabled_in_file: "CB002", "the file switches cross-account backup off (static)",
        fail: || file(&disabled()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`source`", "`backup`", "disabled"];

    cb002_live_off_in_management_account: "CB002", "cross-account backup switched off in the management account",
        fail: || seed_live(|state| region(state, MANAGEMENT).cross_account_backup = Some(false)),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: [MANAGEMENT, REGION];

    cb002_live_after_plan_of_disabled_file: "CB002", "the plan of a file with `disabled` switches it off",
        fail: || after_plan(&disabled(), &seed_converged()),
        // Live mode evaluates the state, not the file's diagnostic: still on in AWS.
        pass: || seed_state(&disabled()),
        subject: EDGE,
        message: [MANAGEMENT];

    cb030_no_organization: "CB030", "the file copies across accounts without `organization:`",
        fail: || file(&edit(
            &edit(
                SEED,
                "organization:\n  id: o-coffer0seed\n  management_account: management\n  cross_account_backup: enabled\n",
                "",
            ),
            "      organization: true\n",
            "      allow_copy_from: [source]\n",
        )),
        pass: || file(SEED),
        subject: "organization",
        message: ["no organization"];
}
