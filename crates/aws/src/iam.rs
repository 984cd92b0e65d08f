//! The least-privilege IAM policy the role Coffer assumes in each account needs, derived from
//! the calls this crate makes (the table `iam_calls.txt`). A test reads this crate's source and
//! fails when a call is made that the table does not cover.

use std::sync::LazyLock;

use serde_json::{Value, json};

/// What the role is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// `plan`, `drift`, `check --live`, `graph --live`: read only.
    Plan,
    /// `apply`: read plus the changes.
    Apply,
    /// `drill`: read plus backup, copy, restore and clean-up jobs.
    Drill,
}

/// One SDK call: the client, the SDK method, and the IAM actions it needs.
pub struct Call {
    pub client: &'static str,
    pub method: &'static str,
    pub actions: Vec<&'static str>,
    pub mode: Mode,
}

/// Every call the `aws` crate makes (`iam_calls.txt`).
pub static CALLS: LazyLock<Vec<Call>> = LazyLock::new(|| {
    include_str!("iam_calls.txt")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(call)
        .collect()
});

/// A line of `iam_calls.txt`: mode, client, method, actions.
fn call(line: &'static str) -> Call {
    let mut words = line.split_whitespace();
    let mut next = || {
        words.next().unwrap_or_else(|| {
            panic!("iam_calls.txt: a line lacks its mode, client or method: {line}")
        })
    };
    let mode = match next() {
        "plan" => Mode::Plan,
        "apply" => Mode::Apply,
        "drill" => Mode::Drill,
        other => panic!("iam_calls.txt: `{other}` is not a mode (plan, apply, drill)"),
    };
    let (client, method) = (next(), next());
    Call {
        client,
        method,
        actions: words.collect(),
        mode,
    }
}

/// The actions a mode needs (a mode includes the read-only ones), sorted.
pub fn actions(mode: Mode) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = CALLS
        .iter()
        .filter(|c| c.mode == Mode::Plan || c.mode == mode)
        .flat_map(|c| c.actions.iter().copied())
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

/// The role `coffer drill --create-service-role` may create (and attach AWS Backup's managed
/// policies to): `service-default`'s, in any account.
const SERVICE_DEFAULT_ROLES: &str = "arn:aws:iam::*:role/service-role/AWSBackupDefaultServiceRole";

/// The identity policy for the role Coffer assumes in each account. `iam:PassRole` is limited
/// to roles passed to AWS Backup, role creation to `service-default`'s role.
pub fn policy(mode: Mode) -> Value {
    let all = actions(mode);
    let (pass, rest): (Vec<&str>, Vec<&str>) = all.into_iter().partition(|a| *a == "iam:PassRole");
    let (create, rest): (Vec<&str>, Vec<&str>) = rest
        .into_iter()
        .partition(|a| matches!(*a, "iam:CreateRole" | "iam:AttachRolePolicy"));
    let mut statements = vec![json!({
        "Sid": match mode { Mode::Plan => "CofferRead", Mode::Apply => "CofferReadAndApply", Mode::Drill => "CofferReadAndDrill" },
        "Effect": "Allow",
        "Action": rest,
        "Resource": "*",
    })];
    if !pass.is_empty() {
        statements.push(json!({
            "Sid": "CofferPassBackupRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
        }));
    }
    if !create.is_empty() {
        statements.push(json!({
            "Sid": "CofferCreateBackupServiceRole",
            "Effect": "Allow",
            "Action": create,
            "Resource": SERVICE_DEFAULT_ROLES,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}
