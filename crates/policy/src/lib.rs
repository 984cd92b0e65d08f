//! Coffer's policy engine: one evaluator and one canonical form for the resource-based
//! policies Coffer writes and reads (vault access policies, KMS key policies).
//!
//! [`evaluate`] answers what a policy says about one request (allow, explicit deny, or no
//! statement applies), following IAM's policy evaluation logic; [`access`] combines that
//! answer with the service's rule for the identity side, under the model that every principal
//! is an administrator of its own account. [`canonical`] maps every spelling of a policy to one
//! form, so two policies that mean the same compare equal.
//!
//! The same cases (`tests/policy-corpus/`) run against this engine and against the local
//! emulator's evaluator, so the two cannot drift apart.

mod canonical;
mod condition;
mod glob;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use canonical::{canonical, orphaned_principals};

/// What a resource-based policy says about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Some statement allows the request and none denies it.
    Allow,
    /// Some statement denies the request.
    ExplicitDeny,
    /// No statement applies.
    ImplicitDeny,
}

/// One authorization question: may `principal` do `action` on `resource`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The calling principal as IAM names it in `aws:PrincipalArn`: a role ARN (an assumed-role
    /// session is evaluated as its role), a user ARN, an account root ARN, or a service
    /// principal such as `backup.amazonaws.com`.
    pub principal: String,
    /// `service:Operation`, e.g. `backup:DeleteRecoveryPoint`.
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// The account that owns the resource.
    pub resource_account: String,
    /// Condition keys of the request, by lower-case key. `aws:PrincipalArn`,
    /// `aws:PrincipalAccount` and `kms:CallerAccount` are derived from `principal` unless set.
    context: BTreeMap<String, Vec<String>>,
}

impl Request {
    pub fn new(
        principal: impl Into<String>,
        action: impl Into<String>,
        resource: impl Into<String>,
        resource_account: impl Into<String>,
    ) -> Request {
        Request {
            principal: principal.into(),
            action: action.into(),
            resource: resource.into(),
            resource_account: resource_account.into(),
            context: BTreeMap::new(),
        }
    }

    /// Sets a condition key (single- or multivalued).
    pub fn with(mut self, key: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.context.insert(
            key.to_ascii_lowercase(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// The principal's account, when it is an IAM or STS principal.
    pub fn principal_account(&self) -> Option<&str> {
        principal_account(&self.principal)
    }

    /// The value of a condition key as the request carries it (keys compare case-insensitively).
    pub fn context_value(&self, key: &str) -> Option<Vec<String>> {
        let key = key.to_ascii_lowercase();
        if let Some(values) = self.context.get(&key) {
            return Some(values.clone());
        }
        match key.as_str() {
            "aws:principalarn" if self.principal_account().is_some() => {
                Some(vec![self.principal.clone()])
            }
            "aws:principalaccount" | "kms:calleraccount" => {
                self.principal_account().map(|a| vec![a.to_string()])
            }
            _ => None,
        }
    }
}

/// The account of an IAM or STS principal ARN (`arn:aws:iam::ACCOUNT:...`); `None` for a
/// service principal or anything else.
pub fn principal_account(principal: &str) -> Option<&str> {
    let mut parts = principal.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam" | "sts"), Some(""), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    is_account_id(account).then_some(account)
}

/// Twelve digits.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// The statements of a policy document (a single statement object counts as a list of one).
pub fn statements(policy: &Value) -> Vec<&Map<String, Value>> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(single)) => vec![single],
        _ => Vec::new(),
    }
}

/// A string or list of strings (booleans and numbers as their text).
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    fn one(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(other) => one(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// What `policy` says about `request`: an explicit Deny wins; otherwise an Allow; otherwise no
/// statement applies.
pub fn evaluate(policy: &Value, request: &Request) -> Decision {
    let mut allowed = false;
    for statement in statements(policy) {
        if !applies(statement, request) {
            continue;
        }
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether the request is allowed, given the resource's policy (`None`: it has none) and the
/// identity model in which every principal is an administrator of its own account:
///
/// - an explicit Deny denies;
/// - KMS (`kms:` actions): the key policy must allow the request (a statement for the account's
///   root delegates to the account's IAM policies, which allow everything here);
/// - other services (`backup:`): a principal of the resource's account is allowed; a principal
///   of another account, or a service principal, needs an Allow.
pub fn access(policy: Option<&Value>, request: &Request) -> bool {
    let decision = policy.map_or(Decision::ImplicitDeny, |p| evaluate(p, request));
    match decision {
        Decision::ExplicitDeny => false,
        Decision::Allow => true,
        Decision::ImplicitDeny => {
            let kms = request
                .action
                .split(':')
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case("kms"));
            !kms && request.principal_account() == Some(request.resource_account.as_str())
        }
    }
}

/// Whether `statement` applies to `request` (its principal, action, resource and conditions
/// all match). A statement without an action or resource element applies to nothing.
pub fn applies(statement: &Map<String, Value>, request: &Request) -> bool {
    let principal = if let Some(p) = statement.get("Principal") {
        principal_matches(p, request)
    } else if let Some(p) = statement.get("NotPrincipal") {
        !named_by_not_principal(p, request)
    } else {
        false
    };
    principal
        && element_matches(statement, "Action", "NotAction", |pattern| {
            glob::matches(
                &pattern.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        })
        && element_matches(statement, "Resource", "NotResource", |pattern| {
            glob::matches(pattern, &request.resource)
        })
        && condition::holds(statement.get("Condition"), request)
}

fn element_matches(
    statement: &Map<String, Value>,
    positive: &str,
    negative: &str,
    matches: impl Fn(&str) -> bool,
) -> bool {
    if let Some(values) = statement.get(positive) {
        string_list(Some(values)).iter().any(|p| matches(p))
    } else if let Some(values) = statement.get(negative) {
        !string_list(Some(values)).iter().any(|p| matches(p))
    } else {
        false
    }
}

/// Whether a `Principal` element names the request's principal: `"*"` (everyone), an account
/// (its ID or root ARN: every principal of the account), an exact role or user ARN, or a
/// service principal.
pub fn principal_matches(element: &Value, request: &Request) -> bool {
    match element {
        Value::String(s) => s == "*",
        Value::Object(kinds) => kinds.iter().any(|(kind, ids)| {
            let ids = string_list(Some(ids));
            match kind.as_str() {
                "AWS" => ids.iter().any(|id| aws_principal_matches(id, request)),
                "Service" => ids
                    .iter()
                    .any(|id| id == "*" || id.eq_ignore_ascii_case(&request.principal)),
                _ => false,
            }
        }),
        _ => false,
    }
}

/// Whether a `NotPrincipal` element names the request's principal, so that the statement does
/// not apply to it: every layer of the caller's identity must be listed, its account and then
/// its own ARN (listing a role without its account still leaves that role in the statement).
fn named_by_not_principal(element: &Value, request: &Request) -> bool {
    let Value::Object(kinds) = element else {
        return element.as_str() == Some("*");
    };
    let aws = string_list(kinds.get("AWS"));
    if aws.iter().any(|id| id == "*") {
        return true;
    }
    let Some(account) = request.principal_account() else {
        return kinds
            .iter()
            .filter(|(kind, _)| kind.as_str() != "AWS")
            .flat_map(|(_, ids)| string_list(Some(ids)))
            .any(|id| id.eq_ignore_ascii_case(&request.principal));
    };
    let account_listed = aws
        .iter()
        .any(|id| id == account || root_account(id) == Some(account));
    account_listed
        && (root_account(&request.principal).is_some() || aws.contains(&request.principal))
}

fn aws_principal_matches(id: &str, request: &Request) -> bool {
    if id == "*" {
        return true;
    }
    let Some(account) = request.principal_account() else {
        return false;
    };
    if is_account_id(id) {
        return id == account;
    }
    if let Some(root_account) = root_account(id) {
        return root_account == account;
    }
    id == request.principal
}

/// The account of an account root ARN (`arn:aws:iam::ACCOUNT:root`).
pub fn root_account(arn: &str) -> Option<&str> {
    let rest = arn.strip_suffix(":root")?;
    let account = principal_account(arn)?;
    rest.ends_with(account).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ADMIN: &str = "arn:aws:iam::666777888999:role/Admin";
    const VAULT: &str = "arn:aws:backup:eu-west-1:666777888999:backup-vault:central";

    fn guard(exempt: &[&str]) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint",
            "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": exempt}}}]})
    }

    #[test]
    fn the_guard_denies_everyone_but_the_exempt() {
        let policy = guard(&["arn:aws:iam::666777888999:role/BreakGlass"]);
        let admin = Request::new(ADMIN, "backup:DeleteRecoveryPoint", VAULT, "666777888999");
        assert_eq!(evaluate(&policy, &admin), Decision::ExplicitDeny);
        assert!(!access(Some(&policy), &admin));
        let glass = Request::new(
            "arn:aws:iam::666777888999:role/BreakGlass",
            "backup:DeleteRecoveryPoint",
            VAULT,
            "666777888999",
        );
        assert_eq!(evaluate(&policy, &glass), Decision::ImplicitDeny);
        assert!(access(Some(&policy), &glass));
    }

    #[test]
    fn kms_needs_an_allow_and_backup_does_not_in_the_same_account() {
        let kms = Request::new(
            ADMIN,
            "kms:Decrypt",
            "arn:aws:kms:eu-west-1:666777888999:key/k",
            "666777888999",
        );
        assert!(!access(Some(&json!({"Statement": []})), &kms));
        let backup = Request::new(ADMIN, "backup:DeleteRecoveryPoint", VAULT, "666777888999");
        assert!(access(None, &backup));
        let outsider = Request::new(
            "arn:aws:iam::999988887777:role/Admin",
            "backup:DeleteRecoveryPoint",
            VAULT,
            "666777888999",
        );
        assert!(!access(None, &outsider));
    }

    #[test]
    fn principal_accounts() {
        assert_eq!(principal_account(ADMIN), Some("666777888999"));
        assert_eq!(
            principal_account("arn:aws:sts::666777888999:assumed-role/A/s"),
            Some("666777888999")
        );
        assert_eq!(principal_account("backup.amazonaws.com"), None);
        assert_eq!(
            root_account("arn:aws:iam::666777888999:root"),
            Some("666777888999")
        );
        assert_eq!(root_account(ADMIN), None);
    }
}
