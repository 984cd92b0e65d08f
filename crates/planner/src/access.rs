//! Who may do what to a vault or key, according to its policy: the policy engine
//! (`coffer_policy`) asked about the principals that matter to a backup topology. The checks,
//! drift, the weakening flag and the destroy-path report all ask here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use coffer_policy::{Request, access};
use coffer_spec::Topology;

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
}

/// The principals to ask about for a resource of account `owner_name`: its break-glass
/// principals, Coffer's role, any other administrator of the account, every other account of
/// the topology, an account of the organization the file does not name, and an outsider.
pub fn principals(
    topology: &Topology,
    owner_name: &coffer_spec::AccountName,
    break_glass: &[String],
) -> Vec<Principal> {
    let owner = topology.account_id(owner_name);
    let org = topology.organization.as_ref().map(|o| o.id.clone());
    let mut out: Vec<Principal> = break_glass
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
        out.push(Principal {
            label: format!("Coffer's role {coffer}"),
            role: Role::Coffer,
            arn: coffer.to_string(),
            org_id: org.clone(),
        });
    }
    out.push(Principal {
        label: format!("any administrator of account {owner_name} ({owner})"),
        role: Role::AccountAdministrator,
        arn: format!("arn:aws:iam::{owner}:role/AnyAdministrator"),
        org_id: org.clone(),
    });
    for account in topology.accounts.values().filter(|a| a.id != owner) {
        out.push(Principal {
            label: format!("account {} ({})", account.name, account.id),
            role: Role::TopologyAccount,
            arn: format!("arn:aws:iam::{}:role/AnyAdministrator", account.id),
            org_id: org.clone(),
        });
    }
    if let Some(org) = &org {
        out.push(Principal {
            label: format!("any other account of organization {org}"),
            role: Role::OrganizationAccount,
            arn: format!("arn:aws:iam::{UNNAMED_ORG_ACCOUNT}:role/AnyAdministrator"),
            org_id: Some(org.clone()),
        });
    }
    out.push(outsider());
    out
}

/// Anyone outside the organization: the one principal of [`principals`] whose answer does not
/// depend on the resource's account, asked about alone where the other accounts do not matter
/// (building the whole list for every resource grows with the square of the fleet).
pub fn outsider() -> Principal {
    Principal {
        label: "anyone outside the organization".into(),
        role: Role::Outsider,
        arn: format!("arn:aws:iam::{OUTSIDER_ACCOUNT}:role/AnyAdministrator"),
        org_id: None,
    }
}

/// The principals of other accounts (of the topology, of the organization, or outside it)
/// that `policy` lets do any of `actions` on `resource` of `owner`, with the first such
/// action.
pub fn foreign_access<'p>(
    principals: &'p [Principal],
    policy: Option<&Value>,
    actions: &[&'static str],
    resource: &str,
    owner: &str,
) -> Vec<(&'p Principal, &'static str)> {
    principals
        .iter()
        .filter(|p| {
            matches!(
                p.role,
                Role::TopologyAccount | Role::OrganizationAccount | Role::Outsider
            )
        })
        .filter_map(|p| {
            actions
                .iter()
                .find(|a| p.may(policy, a, resource, owner))
                .map(|a| (p, *a))
        })
        .collect()
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
        let probes = [member, outsider];
        let found = foreign_access(
            &probes,
            Some(&policy),
            &["backup:DeleteRecoveryPoint"],
            "arn:aws:backup:eu-west-1:666777888999:backup-vault:v",
            "666777888999",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.role, Role::OrganizationAccount);
    }
}
