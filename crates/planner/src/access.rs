//! Who may do what to a vault or key, according to its policy: the policy engine
//! (`coffer_policy`) asked about the principals that matter to a backup topology. The checks,
//! drift, the weakening flag and the destroy-path report all ask here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::collections::HashMap;

use coffer_policy::{Request, access};
use coffer_spec::{Account, AccountName, Topology};

/// A principal a question is asked for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Principal {
    /// Who it stands for, in the report's words.
    pub label: String,
    #[serde(rename = "kind")]
    pub role: Role,
    /// The ARN the request is made with.
    pub arn: String,
    /// The organization the principal's account is in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// What a principal is to the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A declared break-glass principal.
    BreakGlass,
    /// The role Coffer applies with in the resource's account.
    Coffer,
    /// Any other administrator of the resource's own account.
    AccountAdministrator,
    /// A principal of another account of the topology.
    TopologyAccount,
    /// A principal of an account of the organization that the file does not name.
    OrganizationAccount,
    /// A principal outside the organization.
    Outsider,
}

/// An account ID no topology uses for its principals, for the "another account of the
/// organization" and "outside the organization" questions.
const UNNAMED_ORG_ACCOUNT: &str = "999999999991";
const OUTSIDER_ACCOUNT: &str = "999999999992";

impl Principal {
    /// The request this principal makes for `action` on `resource` of account `owner`.
    pub fn request(&self, action: &str, resource: &str, owner: &str) -> Request {
        let mut request = Request::new(self.arn.clone(), action, resource, owner);
        if let Some(org) = &self.org_id {
            request = request.with("aws:PrincipalOrgID", [org.clone()]);
        }
        request
    }

    /// Whether `policy` (with the identity model of `coffer_policy::access`) lets this
    /// principal do `action` on `resource` of account `owner`.
    pub fn may(&self, policy: Option<&Value>, action: &str, resource: &str, owner: &str) -> bool {
        access(policy, &self.request(action, resource, owner))
    }

    /// For a principal of another account (of the topology, of the organization, or outside
    /// it): the first of `actions` that `policy` lets it do on `resource` of `owner`.
    pub fn foreign_action(
        &self,
        policy: Option<&Value>,
        actions: &[&'static str],
        resource: &str,
        owner: &str,
    ) -> Option<&'static str> {
        let foreign = matches!(
            self.role,
            Role::TopologyAccount | Role::OrganizationAccount | Role::Outsider
        );
        foreign
            .then(|| {
                actions
                    .iter()
                    .find(|a| self.may(policy, a, resource, owner))
            })
            .flatten()
            .copied()
    }
}

/// The accounts of a topology by ID, built once per pass: finding the accounts a policy names
/// then costs what the policy's size costs, not what the fleet's size costs.
pub struct Accounts<'t> {
    pub topology: &'t Topology,
    by_id: HashMap<&'t str, &'t Account>,
}

impl<'t> Accounts<'t> {
    pub fn new(topology: &'t Topology) -> Self {
        Accounts {
            topology,
            by_id: (topology.accounts.values())
                .map(|a| (a.id.as_str(), a))
                .collect(),
        }
    }

    /// The principals to ask about for a resource of account `owner_name` whose policies (as
    /// they are, or as they will be) are `documents`: its break-glass principals, Coffer's role,
    /// any other administrator of the account, every other account of the topology, an account
    /// of the organization the file does not name, and an outsider.
    pub fn principals(
        &self,
        owner_name: &AccountName,
        break_glass: &[String],
        documents: &[Option<&Value>],
    ) -> Principals<'_> {
        let topology = self.topology;
        let owner = topology.account_id(owner_name).to_string();
        let org = topology.organization.as_ref().map(|o| o.id.clone());
        let mut head: Vec<Principal> = break_glass
            .iter()
            .map(|arn| Principal {
                label: format!("break-glass {arn}"),
                role: Role::BreakGlass,
                arn: arn.clone(),
                org_id: org.clone(),
            })
            .collect();
        let coffer = topology.coffer_role(owner_name);
        if !coffer.is_empty() && !break_glass.iter().any(|b| b == coffer) {
            head.push(Principal {
                label: format!("Coffer's role {coffer}"),
                role: Role::Coffer,
                arn: coffer.to_string(),
                org_id: org.clone(),
            });
        }
        head.push(Principal {
            label: format!("any administrator of account {owner_name} ({owner})"),
            role: Role::AccountAdministrator,
            arn: format!("arn:aws:iam::{owner}:role/AnyAdministrator"),
            org_id: org.clone(),
        });
        let mut tail = Vec::new();
        if let Some(org) = &org {
            tail.push(Principal {
                label: format!("any other account of organization {org}"),
                role: Role::OrganizationAccount,
                arn: format!("arn:aws:iam::{UNNAMED_ORG_ACCOUNT}:role/AnyAdministrator"),
                org_id: Some(org.clone()),
            });
        }
        tail.push(outsider());

        let mut named = Vec::new();
        let mut distinguishes = false;
        for document in documents.iter().flatten() {
            distinguishes |= self.named_in(document, &mut named);
        }
        named.retain(|a| a.id != owner);
        named.sort_by(|a, b| a.name.cmp(&b.name));
        named.dedup_by(|a, b| a.id == b.id);
        let representative = (!distinguishes)
            .then(|| {
                (topology.accounts.values())
                    .find(|a| a.id != owner && !named.iter().any(|n| n.id == a.id))
            })
            .flatten();
        Principals {
            accounts: self,
            owner,
            org,
            head,
            named,
            sample: !distinguishes,
            representative,
            tail,
        }
    }

    /// Adds to `named` the accounts of the topology whose ID appears in `document`; true when
    /// the document could also tell apart accounts it does not name (see [`Principals`]).
    fn named_in(&self, document: &Value, named: &mut Vec<&'t Account>) -> bool {
        let text = document.to_string();
        let bytes = text.as_bytes();
        let mut run = 0;
        for (i, b) in bytes.iter().enumerate() {
            run = if b.is_ascii_digit() { run + 1 } else { 0 };
            if run >= ACCOUNT_ID_LEN
                && let Ok(id) = std::str::from_utf8(&bytes[i + 1 - ACCOUNT_ID_LEN..=i])
                && let Some(account) = self.by_id.get(id)
            {
                named.push(account);
            }
        }
        let wildcard_by_digit = bytes.windows(2).any(|w| {
            (matches!(w[0], b'*' | b'?') && w[1].is_ascii_digit())
                || (w[0].is_ascii_digit() && matches!(w[1], b'*' | b'?'))
        });
        wildcard_by_digit || text.contains("umeric") || text.contains("${")
    }
}

const ACCOUNT_ID_LEN: usize = 12;

/// The principals that matter to one resource, asked about without building one for every
/// account of the topology. The policy engine sees a topology account only through its ID:
/// an account whose ID the resource's policies do not contain gets the same answer as any
/// other such account, unless a policy could tell them apart without naming them (a wildcard
/// next to a digit, a numeric condition, a policy variable). So the accounts the policies name
/// are asked about one by one, the others through one representative, and all of them one by
/// one only when the representative is granted what is asked (the answer then names each) or
/// when the policies could tell them apart.
pub struct Principals<'a> {
    accounts: &'a Accounts<'a>,
    owner: String,
    org: Option<String>,
    /// Break-glass principals, Coffer's role and the account's administrators.
    head: Vec<Principal>,
    /// The other accounts of the topology the policies name, in the topology's order.
    named: Vec<&'a Account>,
    /// Whether the accounts the policies do not name may be asked about through one.
    sample: bool,
    /// An account of the topology that is neither the owner nor named (`None` when there is
    /// none, or when they are not sampled).
    representative: Option<&'a Account>,
    /// An unnamed account of the organization and an outsider.
    tail: Vec<Principal>,
}

impl Principals<'_> {
    fn topology_account(&self, account: &Account) -> Principal {
        Principal {
            label: format!("account {} ({})", account.name, account.id),
            role: Role::TopologyAccount,
            arn: format!("arn:aws:iam::{}:role/AnyAdministrator", account.id),
            org_id: self.org.clone(),
        }
    }

    /// `answer` for every principal that has one, in the order break-glass, Coffer's role,
    /// the account's administrators, the topology's other accounts (by name), the
    /// organization, the outsider. `answer` must depend on the principal only through the
    /// policy engine's answers about the resource's policies.
    pub fn filter_map<T>(&self, answer: impl Fn(&Principal) -> Option<T>) -> Vec<T> {
        let mut out: Vec<T> = self.head.iter().filter_map(&answer).collect();
        let everyone = !self.sample
            || self
                .representative
                .is_some_and(|r| answer(&self.topology_account(r)).is_some());
        if everyone {
            for account in (self.accounts.topology.accounts.values()).filter(|a| a.id != self.owner)
            {
                out.extend(answer(&self.topology_account(account)));
            }
        } else {
            for account in &self.named {
                out.extend(answer(&self.topology_account(account)));
            }
        }
        out.extend(self.tail.iter().filter_map(&answer));
        out
    }

    /// The principals `keep` holds for, in the order of [`Principals::filter_map`].
    pub fn filter(&self, keep: impl Fn(&Principal) -> bool) -> Vec<Principal> {
        self.filter_map(|p| keep(p).then(|| p.clone()))
    }

    /// The principals of other accounts (of the topology, of the organization, or outside
    /// it) that `policy` lets do any of `actions` on `resource` of `owner`, with the first
    /// such action.
    pub fn foreign_access(
        &self,
        policy: Option<&Value>,
        actions: &[&'static str],
        resource: &str,
        owner: &str,
    ) -> Vec<(Principal, &'static str)> {
        self.filter_map(|p| {
            p.foreign_action(policy, actions, resource, owner)
                .map(|a| (p.clone(), a))
        })
    }
}

/// Anyone outside the organization: the one principal of [`Principals`] whose answer does not
/// depend on the resource's account, asked about alone where the other accounts do not matter.
pub fn outsider() -> Principal {
    Principal {
        label: "anyone outside the organization".into(),
        role: Role::Outsider,
        arn: format!("arn:aws:iam::{OUTSIDER_ACCOUNT}:role/AnyAdministrator"),
        org_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_org_wide_allow_reaches_unnamed_members_but_not_outsiders() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "backup:DeleteRecoveryPoint", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]});
        let member = Principal {
            label: "m".into(),
            role: Role::OrganizationAccount,
            arn: format!("arn:aws:iam::{UNNAMED_ORG_ACCOUNT}:role/A"),
            org_id: Some("o-abcdefghij".into()),
        };
        let outsider = Principal {
            label: "o".into(),
            role: Role::Outsider,
            arn: format!("arn:aws:iam::{OUTSIDER_ACCOUNT}:role/A"),
            org_id: None,
        };
        let (resource, owner) = (
            "arn:aws:backup:eu-west-1:666777888999:backup-vault:v",
            "666777888999",
        );
        let actions = ["backup:DeleteRecoveryPoint"];
        assert_eq!(
            member.foreign_action(Some(&policy), &actions, resource, owner),
            Some("backup:DeleteRecoveryPoint")
        );
        assert_eq!(
            outsider.foreign_action(Some(&policy), &actions, resource, owner),
            None
        );
    }

    use proptest::prelude::*;

    /// Account IDs that share prefixes and suffixes, so that patterns can tell them apart.
    const IDS: [&str; 6] = [
        "200000000001",
        "200000000002",
        "200000000011",
        "300000000001",
        "300000000002",
        "111222333444",
    ];
    const OWNER: &str = "111222333444";
    const ACTIONS: [&str; 3] = [
        "backup:DeleteRecoveryPoint",
        "backup:CopyIntoBackupVault",
        "backup:PutBackupVaultAccessPolicy",
    ];
    const RESOURCE: &str = "arn:aws:backup:eu-west-1:111222333444:backup-vault:v";

    fn topology() -> Topology {
        let mut yaml = String::from(
            "version: 1\nname: t\norganization: {id: o-abcdefghij, management_account: a5}\ndefaults: {region: eu-west-1, role: CofferDeployRole}\naccounts:\n",
        );
        for (i, id) in IDS.iter().enumerate() {
            yaml.push_str(&format!("  a{i}: {{id: \"{id}\"}}\n"));
        }
        let loaded = coffer_spec::load_str(&yaml);
        let rendered = loaded.render("t.yaml");
        loaded.topology.unwrap_or_else(|| panic!("{rendered}"))
    }

    /// A value that names an account or a set of accounts: an ID, a root or role ARN, or a
    /// pattern (some with a wildcard next to a digit).
    fn who() -> impl Strategy<Value = String> + Clone {
        let id = proptest::sample::select(IDS.to_vec());
        prop_oneof![
            id.clone().prop_map(String::from),
            id.clone().prop_map(|i| format!("arn:aws:iam::{i}:root")),
            id.prop_map(|i| format!("arn:aws:iam::{i}:role/AnyAdministrator")),
            proptest::sample::select(vec![
                "*",
                "2000000000*",
                "*1",
                "?00000000001",
                "arn:aws:iam::*:role/*",
                "arn:aws:iam::3*",
                "arn:aws:iam::????????????:root",
            ])
            .prop_map(String::from),
        ]
    }

    fn condition() -> impl Strategy<Value = Option<Value>> {
        let ids = proptest::collection::vec(who(), 1..3);
        prop_oneof![
            Just(None),
            ids.clone()
                .prop_map(|v| Some(json!({"StringEquals": {"aws:PrincipalAccount": v}}))),
            ids.clone()
                .prop_map(|v| Some(json!({"StringNotEquals": {"aws:PrincipalAccount": v}}))),
            ids.clone()
                .prop_map(|v| Some(json!({"StringLike": {"aws:PrincipalAccount": v}}))),
            ids.prop_map(|v| Some(json!({"ArnNotLike": {"aws:PrincipalArn": v}}))),
            Just(Some(
                json!({"NumericLessThan": {"aws:PrincipalAccount": "250000000000"}})
            )),
            Just(Some(
                json!({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})
            )),
        ]
    }

    fn statement() -> impl Strategy<Value = Value> {
        (
            any::<bool>(),
            prop_oneof![
                Just(json!("*")),
                who().prop_map(|w| json!({"AWS": w})),
                proptest::collection::vec(who(), 1..3).prop_map(|w| json!({"AWS": w})),
            ],
            any::<bool>(),
            prop_oneof![
                proptest::sample::select(ACTIONS.to_vec()).prop_map(|a| json!(a)),
                Just(json!("backup:*")),
            ],
            condition(),
        )
            .prop_map(|(allow, principal, not, action, condition)| {
                let mut s = json!({
                    "Effect": if allow { "Allow" } else { "Deny" },
                    (if not && !allow { "NotPrincipal" } else { "Principal" }): principal,
                    "Action": action,
                    "Resource": "*",
                });
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            })
    }

    fn document() -> impl Strategy<Value = Option<Value>> {
        proptest::option::of(
            proptest::collection::vec(statement(), 1..4)
                .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s})),
        )
    }

    /// Every principal, each topology account built and asked about one by one.
    fn every_principal(accounts: &Accounts<'_>, owner: &AccountName) -> Vec<Principal> {
        let all = accounts.principals(owner, &["arn:aws:iam::111222333444:role/Glass".into()], &[]);
        let mut out = all.head.clone();
        for account in accounts
            .topology
            .accounts
            .values()
            .filter(|a| a.id != OWNER)
        {
            out.push(all.topology_account(account));
        }
        out.extend(all.tail.iter().cloned());
        out
    }

    proptest! {
        /// Asking about the accounts a policy names and one representative of the others
        /// answers as asking about every account does, for one policy and for two (a change's
        /// before and after).
        #[test]
        fn the_representative_answers_for_every_unnamed_account(
            before in document(),
            after in document(),
        ) {
            let topology = topology();
            let accounts = Accounts::new(&topology);
            let owner = AccountName("a5".into());
            let glass = ["arn:aws:iam::111222333444:role/Glass".to_string()];
            let every = every_principal(&accounts, &owner);
            let labels = |ps: Vec<Principal>| ps.into_iter().map(|p| p.label).collect::<Vec<_>>();
            for action in ACTIONS {
                let may = |p: &Principal, d: &Option<Value>| p.may(d.as_ref(), action, RESOURCE, OWNER);
                let asked = accounts.principals(&owner, &glass, &[before.as_ref()]);
                let expected: Vec<Principal> = every.iter().filter(|p| may(p, &before)).cloned().collect();
                prop_assert_eq!(labels(asked.filter(|p| may(p, &before))), labels(expected));

                let asked = accounts.principals(&owner, &glass, &[before.as_ref(), after.as_ref()]);
                let gained = |p: &Principal| !may(p, &before) && may(p, &after);
                let expected: Vec<Principal> = every.iter().filter(|p| gained(p)).cloned().collect();
                prop_assert_eq!(labels(asked.filter(gained)), labels(expected));
            }
        }
    }

    #[test]
    fn a_policy_naming_no_account_is_asked_about_one_representative() {
        let topology = topology();
        let accounts = Accounts::new(&topology);
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "200000000002"},
            "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]});
        let asked = accounts.principals(&AccountName("a5".into()), &[], &[Some(&policy)]);
        assert_eq!(
            asked
                .named
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>(),
            ["200000000002"]
        );
        assert!(asked.sample);
        assert_eq!(
            asked.representative.map(|a| a.id.as_str()),
            Some("200000000001")
        );
        let wildcard = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "2000000000*"},
            "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]});
        let asked = accounts.principals(&AccountName("a5".into()), &[], &[Some(&wildcard)]);
        assert!(!asked.sample);
    }

    /// How many principals one question about a vault policy that names the backup account
    /// asks about, in a fleet of `n` other accounts.
    fn asked_in_fleet(n: u64) -> usize {
        let mut yaml = String::from(
            "version: 1\nname: t\norganization: {id: o-abcdefghij, management_account: backup}\ndefaults: {region: eu-west-1, role: CofferDeployRole}\naccounts:\n  backup: {id: \"900000000000\"}\n",
        );
        for i in 0..n {
            yaml.push_str(&format!(
                "  s{i}: {{id: \"{:012}\"}}\n",
                200_000_000_000 + i
            ));
        }
        let topology = coffer_spec::load_str(&yaml).topology.expect("loads");
        let accounts = Accounts::new(&topology);
        let policy = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::900000000000:root"},
            "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]});
        let asked = std::cell::Cell::new(0);
        let principals = accounts.principals(&AccountName("s0".into()), &[], &[Some(&policy)]);
        let who = principals.filter(|p| {
            asked.set(asked.get() + 1);
            p.may(
                Some(&policy),
                "backup:CopyIntoBackupVault",
                RESOURCE,
                "200000000000",
            )
        });
        assert!(
            who.iter()
                .any(|p| p.label == "account backup (900000000000)")
        );
        asked.get()
    }

    #[test]
    fn a_policy_is_asked_about_as_many_principals_in_a_fleet_of_any_size() {
        assert_eq!(asked_in_fleet(10), asked_in_fleet(2_000));
    }
}
