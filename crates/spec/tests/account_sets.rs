//! Account sets: their syntax, the instances each member gets, and the errors (with the
//! position of what is wrong) for bad selectors, members two sets select and templates that
//! refer to what does not exist.

use coffer_spec::sets::{Member, Membership};
use coffer_spec::{Limits, Loaded, Pos, load_str, load_str_members};

const FLEET: &str = include_str!("../../../examples/fleet/topology.yaml");

fn member(id: &str, name: &str) -> Member {
    Member {
        id: id.into(),
        name: name.into(),
    }
}

fn membership(sets: &[(&str, Vec<Member>)]) -> Membership {
    Membership {
        sets: sets
            .iter()
            .map(|(set, members)| (set.to_string(), members.clone()))
            .collect(),
        former: Default::default(),
    }
}

fn with(text: &str, m: &Membership) -> Loaded {
    load_str_members(text, &Limits::default(), Some(m))
}

/// The position of the first `needle` in `text` (after `after`, when given).
fn pos_of(text: &str, needle: &str) -> Pos {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    Pos::new(line as u32, col as u32)
}

fn topology_of(loaded: &Loaded) -> coffer_spec::Topology {
    let shown = loaded.render("fleet");
    loaded.topology.clone().unwrap_or_else(|| panic!("{shown}"))
}

/// The errors as `line:col code message`.
fn errors(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .errors()
        .map(|d| format!("{}:{} {} {}", d.pos.line, d.pos.col, d.code, d.message))
        .collect()
}

#[test]
fn every_member_gets_the_template_named_after_its_account() {
    let m = membership(&[(
        "workloads",
        vec![
            member("210987654321", "Payments Prod"),
            member("123456789012", "search"),
        ],
    )]);
    let loaded = with(FLEET, &m);
    let topology = topology_of(&loaded);
    let names = |map: Vec<String>| map.join(" ");
    assert_eq!(
        names(topology.keys.keys().map(|k| k.0.clone()).collect()),
        "backup@payments-prod backup@search central"
    );
    assert_eq!(
        names(topology.vaults.keys().map(|k| k.0.clone()).collect()),
        "central local@payments-prod local@search"
    );
    let plan = &topology.backup_plans[&coffer_spec::PlanName("daily@search".into())];
    assert_eq!(plan.plan_name, "daily");
    assert_eq!(plan.account.0, "search");
    assert_eq!(plan.rules[0].vault.0, "local@search");
    assert_eq!(plan.rules[0].copy_to[0].vault.0, "central");
    let vault = &topology.vaults[&coffer_spec::VaultName("local@search".into())];
    assert_eq!(
        vault.key.as_ref().map(|k| k.0.as_str()),
        Some("backup@search")
    );
    let central = &topology.vaults[&coffer_spec::VaultName("central".into())];
    let allowed = &central
        .access_policy
        .as_ref()
        .expect("policy")
        .allow_copy_from;
    assert_eq!(
        allowed,
        &vec!["123456789012".to_string(), "210987654321".to_string()]
    );
    let account = &topology.accounts[&coffer_spec::AccountName("payments-prod".into())];
    assert_eq!(
        account.role_arn,
        "arn:aws:iam::210987654321:role/CofferDeployRole"
    );
    assert_eq!(loaded.account_sets.len(), 1);
    assert_eq!(
        loaded.account_sets[0].organizational_unit.as_deref(),
        Some("ou-c0ff-fl33t000")
    );
    assert!(loaded.account_sets[0].recursive);
}

#[test]
fn an_empty_set_leaves_only_the_listed_accounts() {
    let loaded = with(FLEET, &membership(&[]));
    let topology = topology_of(&loaded);
    assert_eq!(topology.accounts.len(), 2);
    assert_eq!(topology.keys.len(), 1);
    let central = &topology.vaults[&coffer_spec::VaultName("central".into())];
    assert!(
        central
            .access_policy
            .as_ref()
            .expect("policy")
            .allow_copy_from
            .is_empty()
    );
}

#[test]
fn offline_the_template_is_checked_against_a_placeholder_member() {
    let loaded = load_str(FLEET);
    let topology = topology_of(&loaded);
    assert!(
        topology
            .vaults
            .contains_key(&coffer_spec::VaultName("local@member-of-workloads".into()))
    );
    let broken = FLEET.replace("vault: local\n", "vault: locals\n");
    let loaded = load_str(&broken);
    let at = pos_of(&broken, "locals");
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E101 unknown vault `locals`",
            at.line, at.col
        )]
    );
}

#[test]
fn a_second_region_gets_instances_named_with_it() {
    let text = FLEET.replace(
        "    recursive: true\n",
        "    recursive: true\n    regions: [eu-west-1, eu-central-1]\n",
    );
    let loaded = with(
        &text,
        &membership(&[("workloads", vec![member("123456789012", "search")])]),
    );
    let topology = topology_of(&loaded);
    let vaults: Vec<&str> = topology.vaults.keys().map(|v| v.as_str()).collect();
    assert_eq!(
        vaults,
        ["central", "local@search", "local@search@eu-central-1"]
    );
    let second = &topology.vaults[&coffer_spec::VaultName("local@search@eu-central-1".into())];
    assert_eq!(second.region, "eu-central-1");
    assert_eq!(
        second.key.as_ref().map(|k| k.as_str()),
        Some("backup@search@eu-central-1")
    );
}

#[test]
fn an_organizational_unit_id_of_the_wrong_form_is_an_error_at_its_position() {
    let text = FLEET.replace("ou-c0ff-fl33t000", "workloads-ou");
    let at = pos_of(&text, "workloads-ou");
    let loaded = load_str(&text);
    assert!(loaded.topology.is_none());
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E150 `workloads-ou` is not an organizational unit ID: they look like `ou-ab12-11111111`",
            at.line, at.col
        )]
    );
}

const TWO_SETS: &str = "
  platform:
    organizational_unit: ou-c0ff-pl4tf0rm
    template:
      vaults:
        local:
          name: platform-local
";

#[test]
fn an_account_two_sets_select_is_an_error_naming_both_sets_and_the_account() {
    let text = format!("{FLEET}{TWO_SETS}");
    let shared = member("123456789012", "search");
    let m = membership(&[
        ("platform", vec![shared.clone()]),
        ("workloads", vec![shared]),
    ]);
    let loaded = with(&text, &m);
    let at = pos_of(&text, "  workloads:\n");
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E150 account 123456789012 (search) is selected by account sets `platform` and `workloads`",
            at.line,
            at.col + 2
        )]
    );
}

#[test]
fn an_account_listed_explicitly_is_left_out_of_the_set() {
    let m = membership(&[(
        "workloads",
        vec![
            member("666777888999", "backup"),
            member("123456789012", "search"),
        ],
    )]);
    let loaded = with(FLEET, &m);
    let topology = topology_of(&loaded);
    let accounts: Vec<&str> = topology.accounts.keys().map(|a| a.as_str()).collect();
    assert_eq!(accounts, ["backup", "management", "search"]);
    assert!(
        !topology
            .vaults
            .keys()
            .any(|v| v.as_str().ends_with("@backup"))
    );
}

#[test]
fn two_members_with_one_name_are_an_error() {
    let m = membership(&[(
        "workloads",
        vec![
            member("123456789012", "Search"),
            member("210987654321", "search!"),
        ],
    )]);
    let loaded = with(FLEET, &m);
    let at = pos_of(FLEET, "  workloads:\n");
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E150 members 123456789012 and 210987654321 of account set `workloads` both get the name `search`",
            at.line,
            at.col + 2
        )]
    );
}

#[test]
fn a_template_entry_cannot_name_its_account_or_region() {
    let text = FLEET.replace(
        "          name: local\n",
        "          name: local\n          account: backup\n",
    );
    let at = pos_of(&text, "name: local\n          account: backup\n");
    let loaded = load_str(&text);
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E150 a template entry cannot set `account`",
            at.line + 1,
            at.col + 9
        )]
    );
}

#[test]
fn a_top_level_entry_without_account_is_an_error() {
    let text = FLEET.replace(
        "    account: backup\n    name: central\n",
        "    name: central\n",
    );
    let loaded = load_str(&text);
    let at = pos_of(&text, "  central:\n    name: central");
    assert_eq!(
        errors(&loaded),
        vec![format!(
            "{}:{} E004 vault `central` has no `account`",
            at.line,
            at.col + 2
        )]
    );
}

#[test]
fn selectors_that_select_nothing_or_recurse_without_a_unit_are_errors() {
    let text = FLEET.replace("    organizational_unit: ou-c0ff-fl33t000\n", "");
    let loaded = load_str(&text);
    let messages: Vec<String> = loaded
        .diagnostics
        .errors()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        messages,
        [
            "account set `workloads` is `recursive` without `organizational_unit`",
            "account set `workloads` selects no account"
        ]
    );
}
