//! The IAM roles AWS Backup assumes for Coffer's work: each backup selection's `IamRoleArn`
//! (`service-default` is `service-role/AWSBackupDefaultServiceRole` of the plan's account),
//! and the roles the drill passes to its backup, copy and restore jobs.
//!
//! AWS Backup refuses a role it cannot assume, one that does not exist or whose trust policy
//! does not let `backup.amazonaws.com` call `sts:AssumeRole`, with
//! `InvalidParameterValueException: IAM Role <arn> cannot be assumed by AWS Backup`
//! (docs/aws-behaviour.md §5.2, §5.4, §10). `AWSBackupDefaultServiceRole` is created only by the
//! AWS Backup console, so on an account set up through the API it is missing. This module
//! reads each role with `iam:GetRole`, decides from its trust policy (with Coffer's policy
//! engine) whether AWS Backup can assume it, says how to fix it, and can create the
//! service-default role (`coffer drill --create-service-role`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coffer_planner::live::{LiveRole, RoleStatus};
use coffer_policy::{Decision, Request};
use coffer_spec::{Account, BackupPlan, Rule, Topology};
use futures::future::join_all;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::drill::{DrillError, DrillOptions};
use crate::error::AwsError;
use crate::session::{AccountSession, Sessions};

/// The service principal that assumes the roles.
pub const BACKUP_SERVICE: &str = "backup.amazonaws.com";
/// The AWS managed policies of `AWSBackupDefaultServiceRole`.
pub const BACKUP_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup";
pub const RESTORE_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores";

/// The ARN of `service-default`'s role in `account_id`.
pub fn service_default_role(account_id: &str) -> String {
    format!(
        "arn:aws:iam::{account_id}:role/{}",
        coffer_spec::aws_limits::SERVICE_DEFAULT_ROLE
    )
}

/// The role the drill's backup and copy jobs of `plan` pass to AWS Backup: its first
/// selection's, else `service-default`'s in the plan's account.
pub fn job_role(topology: &Topology, plan: &BackupPlan) -> String {
    plan.selections.first().map_or_else(
        || service_default_role(topology.account_id(&plan.account)),
        |s| s.role_arn.clone(),
    )
}

/// The role the drill's restore in `account_id` passes to AWS Backup.
pub fn restore_role(account_id: &str) -> String {
    service_default_role(account_id)
}

/// The name and path of a role ARN: `arn:aws:iam::1:role/service-role/X` is
/// (`X`, `/service-role/`). `None` for anything but a role ARN.
pub fn name_and_path(role_arn: &str) -> Option<(&str, String)> {
    let (_, resource) = role_arn.split_once(":role/")?;
    let (path, name) = match resource.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), resource),
    };
    (!name.is_empty()).then_some((name, path))
}

/// The trust policy Coffer gives the roles it creates, and the fixes name.
pub fn backup_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": BACKUP_SERVICE},
            "Action": "sts:AssumeRole",
        }],
    })
}

/// What the role's trust policy says about AWS Backup calling `sts:AssumeRole` on it: the
/// request is made by the service principal `backup.amazonaws.com`, on the role (a trust
/// policy has no `Resource` element: the role is the resource), with `aws:SourceAccount` the
/// role's account. An explicit Deny wins.
pub fn trust(document: &Value, role_arn: &str, account_id: &str) -> Decision {
    let mut policy = document.clone();
    let statements = match policy.get_mut("Statement") {
        Some(Value::Array(items)) => items.iter_mut().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    for statement in statements {
        if let Value::Object(fields) = statement
            && !fields.contains_key("Resource")
            && !fields.contains_key("NotResource")
        {
            fields.insert("Resource".into(), Value::String(role_arn.to_string()));
        }
    }
    let request = Request::new(BACKUP_SERVICE, "sts:AssumeRole", role_arn, account_id)
        .with("aws:SourceAccount", [account_id]);
    coffer_policy::evaluate(&policy, &request)
}

/// A trust policy as IAM returns it: URL-encoded JSON (RFC 3986). Plain JSON is accepted too.
pub fn decode_policy(text: &str) -> Option<Value> {
    if let Ok(value) = serde_json::from_str(text) {
        return Some(value);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
    serde_json::from_slice(&decoded).ok()
}

/// The status of a role from its trust policy.
pub fn judge(document: Option<&str>, role_arn: &str, account_id: &str) -> LiveRole {
    let Some(policy) = document.and_then(decode_policy) else {
        return problem(
            RoleStatus::NotTrusted,
            "its trust policy could not be read as a JSON policy".into(),
            role_arn,
        );
    };
    match trust(&policy, role_arn, account_id) {
        Decision::Allow => LiveRole::default(),
        Decision::ExplicitDeny => problem(
            RoleStatus::NotTrusted,
            format!("its trust policy explicitly denies {BACKUP_SERVICE} sts:AssumeRole"),
            role_arn,
        ),
        Decision::ImplicitDeny => problem(
            RoleStatus::NotTrusted,
            format!("its trust policy does not allow {BACKUP_SERVICE} sts:AssumeRole"),
            role_arn,
        ),
    }
}

fn problem(status: RoleStatus, detail: String, role_arn: &str) -> LiveRole {
    LiveRole {
        status,
        fix: Some(fix(role_arn, status, &detail)),
        detail: Some(detail),
    }
}

/// Reads `role_arn` in `session`'s account with `iam:GetRole` and judges it. `iam:GetRole`
/// refused (access denied) is `Unreadable`, naming the permission; any other failure (the
/// endpoint, Coffer's own role, throttling) is the error.
pub async fn inspect(session: &AccountSession, role_arn: &str) -> Result<LiveRole, AwsError> {
    let account_id = session.account.id.as_str();
    let Some((name, _)) = name_and_path(role_arn) else {
        return Ok(problem(
            RoleStatus::Missing,
            "it is not an IAM role ARN".into(),
            role_arn,
        ));
    };
    if role_arn.split(':').nth(4) != Some(account_id) {
        return Ok(problem(
            RoleStatus::Missing,
            format!(
                "it is not a role of account {account_id}: AWS Backup only assumes roles of the job's own account"
            ),
            role_arn,
        ));
    }
    let call = session.call("-", "iam:GetRole");
    let status = match session.iam().get_role().role_name(name).send().await {
        Ok(out) => match out.role() {
            Some(role) if role.arn() == role_arn => {
                judge(role.assume_role_policy_document(), role_arn, account_id)
            }
            Some(role) => problem(
                RoleStatus::Missing,
                format!(
                    "a role named {name} exists with another path ({})",
                    role.arn()
                ),
                role_arn,
            ),
            None => problem(RoleStatus::Missing, "it does not exist".into(), role_arn),
        },
        Err(e) => {
            let error = call.sdk_error(e);
            match error.code.as_deref() {
                Some("NoSuchEntity") => {
                    problem(RoleStatus::Missing, "it does not exist".into(), role_arn)
                }
                // IAM's own refusal; a failure to assume Coffer's role names sts:AssumeRole.
                Some("AccessDenied" | "AccessDeniedException") if error.call == "iam:GetRole" => {
                    unreadable(&error, role_arn)
                }
                _ => return Err(error),
            }
        }
    };
    Ok(status)
}

fn unreadable(error: &AwsError, role_arn: &str) -> LiveRole {
    let answer = match &error.code {
        Some(code) => format!("{code}: {}", error.message),
        None => error.message.clone(),
    };
    let detail = format!(
        "iam:GetRole was refused ({answer}): the role Coffer assumes ({}) needs iam:GetRole",
        error.role_arn
    );
    problem(RoleStatus::Unreadable, detail, role_arn)
}

fn shell_quoted(value: &Value) -> String {
    format!("'{value}'")
}

/// The commands that create `role_arn` as AWS Backup needs it.
pub fn create_commands(role_arn: &str) -> Vec<String> {
    let Some((name, path)) = name_and_path(role_arn) else {
        return Vec::new();
    };
    vec![
        format!(
            "aws iam create-role --role-name {name} --path {path} --assume-role-policy-document {}",
            shell_quoted(&backup_trust_policy())
        ),
        format!("aws iam attach-role-policy --role-name {name} --policy-arn {BACKUP_POLICY}"),
        format!("aws iam attach-role-policy --role-name {name} --policy-arn {RESTORE_POLICY}"),
    ]
}

/// How to fix a role AWS Backup cannot use, in one line (the finding's fix; the drill lists
/// the same commands one per line).
pub fn fix(role_arn: &str, status: RoleStatus, detail: &str) -> String {
    let account = role_arn.split(':').nth(4).unwrap_or_default();
    let name = name_and_path(role_arn).map_or(role_arn, |(name, _)| name);
    let is_default = role_arn == service_default_role(account);
    let commands = |commands: Vec<String>| {
        commands
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match status {
        RoleStatus::TrustsBackup => String::new(),
        RoleStatus::Missing if is_default => format!(
            "create it with credentials for account {account}: {}; or let Coffer create it: `coffer drill --create-service-role`",
            commands(create_commands(role_arn))
        ),
        RoleStatus::Missing => format!(
            "create it with credentials for account {account}: {}; or use `role: service-default`",
            commands(create_commands(role_arn))
        ),
        RoleStatus::NotTrusted if detail.contains("explicitly denies") => format!(
            "remove the statement of its trust policy that denies {BACKUP_SERVICE} sts:AssumeRole (`aws iam get-role --role-name {name}` shows it; `aws iam update-assume-role-policy --role-name {name} --policy-document ...` replaces it)"
        ),
        RoleStatus::NotTrusted => format!(
            "let AWS Backup assume it: `aws iam update-assume-role-policy --role-name {name} --policy-document {}` (this replaces its trust policy: keep the statements it still needs)",
            shell_quoted(&backup_trust_policy())
        ),
        RoleStatus::Unreadable => format!(
            "allow Coffer's role iam:GetRole (`coffer iam-policy`), or check the role by hand: `aws iam get-role --role-name {name}` in account {account}"
        ),
    }
}

/// A role Coffer passes to AWS Backup, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUse {
    pub account: Account,
    pub role_arn: String,
    /// `backup and copy jobs of plan orders-daily`, `restore in backup`, ...
    pub purposes: Vec<String>,
}

/// A role AWS Backup cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleProblem {
    pub role: RoleUse,
    pub status: LiveRole,
}

impl RoleProblem {
    /// `role <arn> in account `backup` (666777888999), for the restore in backup: it does not
    /// exist`, then the fix's commands, one per line.
    pub fn describe(&self) -> String {
        let status = &self.status;
        let mut out = format!(
            "role {} in account `{}` ({}), for {}: {}\n",
            self.role.role_arn,
            self.role.account.name,
            self.role.account.id,
            self.role.purposes.join(" and "),
            status
                .detail
                .as_deref()
                .unwrap_or("AWS Backup cannot assume it")
        );
        match status.status {
            RoleStatus::Missing => {
                out.push_str(&format!(
                    "    fix: create it with credentials for account {}:\n",
                    self.role.account.id
                ));
                for command in create_commands(&self.role.role_arn) {
                    out.push_str(&format!("      {command}\n"));
                }
                if self.role.role_arn == service_default_role(&self.role.account.id) {
                    out.push_str(
                        "    or run `coffer drill --create-service-role` to let Coffer create it\n",
                    );
                }
            }
            _ => out.push_str(&format!(
                "    fix: {}\n",
                status.fix.as_deref().unwrap_or_default()
            )),
        }
        out
    }
}

/// The roles the drill of `plan`'s `rule` passes to AWS Backup: the job role (backup and
/// copy jobs, in the plan's account) and `service-default`'s role in each destination
/// account (restores).
pub fn drill_uses(topology: &Topology, plan: &BackupPlan, rule: &Rule) -> Vec<RoleUse> {
    let mut uses: Vec<RoleUse> = Vec::new();
    let mut add = |account: Option<&Account>, role_arn: String, purpose: String| {
        let Some(account) = account else { return };
        match uses
            .iter_mut()
            .find(|u| u.role_arn == role_arn && u.account.id == account.id)
        {
            Some(existing) => existing.purposes.push(purpose),
            None => uses.push(RoleUse {
                account: account.clone(),
                role_arn,
                purposes: vec![purpose],
            }),
        }
    };
    add(
        topology.account(&plan.account),
        job_role(topology, plan),
        format!("the backup and copy jobs of plan {}", plan.name),
    );
    for copy in &rule.copy_to {
        if let Some(vault) = topology.vaults.get(&copy.vault) {
            let account = topology.account(&vault.account);
            add(
                account,
                restore_role(topology.account_id(&vault.account)),
                format!("the restore in {}", vault.account),
            );
        }
    }
    uses
}

/// Inspects every role of `uses`; the ones AWS Backup cannot use.
pub async fn problems(
    sessions: &Sessions,
    uses: &[RoleUse],
) -> Result<Vec<RoleProblem>, DrillError> {
    let inspected = join_all(uses.iter().map(|role| async move {
        let session = sessions.account(&role.account.id).ok_or_else(|| {
            DrillError::Setup(format!("no session for account {}", role.account.id))
        })?;
        let status = inspect(&session, &role.role_arn).await?;
        Ok::<_, DrillError>(RoleProblem {
            role: role.clone(),
            status,
        })
    }))
    .await;
    let mut found = Vec::new();
    for problem in inspected {
        let problem = problem?;
        if problem.status.status != RoleStatus::TrustsBackup {
            found.push(problem);
        }
    }
    Ok(found)
}

/// The drill's message when roles are not usable: which, where, why, and the fix.
pub fn drill_message(problems: &[RoleProblem]) -> String {
    let mut out = format!(
        "AWS Backup cannot assume {} the drill passes it, so no job was started:\n",
        coffer_spec::diag::plural(problems.len(), "role", "roles")
    );
    for problem in problems {
        out.push_str("  - ");
        out.push_str(&problem.describe());
    }
    out.trim_end().to_string()
}

/// Before the drill starts a job: every role it passes must be one AWS Backup can assume.
pub async fn preflight(
    topology: &Topology,
    sessions: &Sessions,
    plan: &BackupPlan,
    rule: &Rule,
) -> Result<(), DrillError> {
    let found = problems(sessions, &drill_uses(topology, plan, rule)).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(DrillError::ServiceRoles(drill_message(&found)))
    }
}

/// `coffer drill --create-service-role`: creates `service-default`'s role (path
/// `/service-role/`, trusted by AWS Backup, with both managed policies) in each account of the
/// drill where it is missing; never any other role. Returns what it created.
pub async fn create_missing_service_roles(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
) -> Result<Vec<String>, DrillError> {
    let (plan, rule, _) = crate::drill::pick(topology, options)?;
    let missing: Vec<RoleProblem> = problems(sessions, &drill_uses(topology, plan, rule))
        .await?
        .into_iter()
        .filter(|p| {
            p.status.status == RoleStatus::Missing
                && p.role.role_arn == service_default_role(&p.role.account.id)
        })
        .collect();
    let mut created = Vec::new();
    for problem in missing {
        let session = sessions.account(&problem.role.account.id).ok_or_else(|| {
            DrillError::Setup(format!(
                "no session for account {}",
                problem.role.account.id
            ))
        })?;
        create_service_default_role(&session).await?;
        created.push(format!(
            "created role {} in account `{}` ({}), trusted by {BACKUP_SERVICE}, with {BACKUP_POLICY} and {RESTORE_POLICY}",
            problem.role.role_arn, problem.role.account.name, problem.role.account.id
        ));
    }
    Ok(created)
}

/// Creates `service-role/AWSBackupDefaultServiceRole` in `session`'s account, as the AWS
/// Backup console does (docs/aws-behaviour.md §5.4).
pub async fn create_service_default_role(session: &AccountSession) -> Result<(), AwsError> {
    let role_arn = service_default_role(&session.account.id);
    let Some((name, path)) = name_and_path(&role_arn) else {
        return Ok(());
    };
    let call = session.call("-", "iam:CreateRole");
    let created = session
        .iam()
        .create_role()
        .role_name(name)
        .path(&path)
        .assume_role_policy_document(backup_trust_policy().to_string())
        .description("The role AWS Backup assumes for backups and restores (created by coffer drill --create-service-role)")
        .send()
        .await;
    if let Err(e) = created {
        let error = call.sdk_error(e);
        // Created meanwhile (another run): attach the policies all the same.
        if error.code.as_deref() != Some("EntityAlreadyExists") {
            return Err(error);
        }
    }
    let call = session.call("-", "iam:AttachRolePolicy");
    for policy in [BACKUP_POLICY, RESTORE_POLICY] {
        session
            .iam()
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy)
            .send()
            .await
            .map_err(|e| call.sdk_error(e))?;
    }
    Ok(())
}

/// The live state's roles: every selection's role, read in the plan's account (only accounts
/// in `usable`, whose role Coffer could assume), by account ID and role ARN. `limit` bounds
/// the calls in flight.
pub async fn read_selection_roles(
    topology: &Topology,
    sessions: &Sessions,
    usable: &BTreeSet<String>,
    limit: &Arc<Semaphore>,
) -> BTreeMap<String, BTreeMap<String, LiveRole>> {
    let wanted: BTreeSet<(String, String)> = topology
        .backup_plans
        .values()
        .flat_map(|plan| {
            let account_id = topology.account_id(&plan.account).to_string();
            plan.selections
                .iter()
                .map(move |s| (account_id.clone(), s.role_arn.clone()))
        })
        .filter(|(account_id, _)| usable.contains(account_id))
        .collect();
    let read = join_all(wanted.into_iter().filter_map(|(account_id, role_arn)| {
        let session = sessions.account(&account_id)?;
        let limit = limit.clone();
        Some(async move {
            let _permit = limit.acquire().await;
            // A role that could not be read is not checked (as the organization membership).
            let status = inspect(&session, &role_arn).await.unwrap_or_else(|error| {
                problem(
                    RoleStatus::Unreadable,
                    format!("iam:GetRole failed ({error})"),
                    &role_arn,
                )
            });
            if status.status == RoleStatus::Unreadable {
                let detail = status.detail.as_deref().unwrap_or_default();
                tracing::warn!(%role_arn, %account_id, %detail, "selection role not read");
            }
            (account_id, role_arn, status)
        })
    }))
    .await;
    let mut roles: BTreeMap<String, BTreeMap<String, LiveRole>> = BTreeMap::new();
    for (account_id, role_arn, status) in read {
        roles
            .entry(account_id)
            .or_default()
            .insert(role_arn, status);
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::666777888999:role/service-role/AWSBackupDefaultServiceRole";
    const ACCOUNT: &str = "666777888999";
    const SEED: &str = include_str!("../../../examples/seed/topology.yaml");

    fn policy(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn names_and_paths_of_role_arns() {
        assert_eq!(
            name_and_path(ROLE),
            Some(("AWSBackupDefaultServiceRole", "/service-role/".to_string()))
        );
        assert_eq!(
            name_and_path("arn:aws:iam::1:role/Plain"),
            Some(("Plain", "/".to_string()))
        );
        assert_eq!(
            name_and_path("arn:aws:iam::1:role/a/b/C"),
            Some(("C", "/a/b/".to_string()))
        );
        assert_eq!(name_and_path("arn:aws:iam::1:user/Plain"), None);
        assert_eq!(service_default_role(ACCOUNT), ROLE);
    }

    #[test]
    fn trust_policies_backup_can_or_cannot_use() {
        let backup = json!({"Service": BACKUP_SERVICE});
        let cases = [
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole"}]),
                ),
                Decision::Allow,
            ),
            // A single statement object, a list of services, a wildcard action.
            (
                json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", BACKUP_SERVICE]}, "Action": ["sts:*"]}}),
                Decision::Allow,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]),
                ),
                Decision::Allow,
            ),
            // Only an account, only another service, another action, another source account.
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:TagSession"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": "111222333444"}}}]),
                ),
                Decision::ImplicitDeny,
            ),
            // An explicit Deny wins.
            (
                policy(json!([
                    {"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole"},
                    {"Effect": "Deny", "Principal": {"Service": [BACKUP_SERVICE]}, "Action": "sts:AssumeRole"},
                ])),
                Decision::ExplicitDeny,
            ),
            (json!({"Version": "2012-10-17"}), Decision::ImplicitDeny),
        ];
        for (document, expected) in cases {
            assert_eq!(trust(&document, ROLE, ACCOUNT), expected, "{document}");
        }
        assert_eq!(
            trust(&backup_trust_policy(), ROLE, ACCOUNT),
            Decision::Allow
        );
    }

    #[test]
    fn trust_policies_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22backup.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(decode_policy(encoded), Some(backup_trust_policy()));
        assert_eq!(
            decode_policy(&backup_trust_policy().to_string()),
            Some(backup_trust_policy())
        );
        assert_eq!(decode_policy("%7B%2"), None);
        assert_eq!(decode_policy("%ZZ"), None);
        assert_eq!(judge(Some(encoded), ROLE, ACCOUNT), LiveRole::default());
        let unreadable = judge(Some("not json"), ROLE, ACCOUNT);
        assert_eq!(unreadable.status, RoleStatus::NotTrusted);
    }

    #[test]
    fn statuses_say_why_and_how_to_fix() {
        let denied = judge(
            Some(
                &policy(json!([{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}]))
                    .to_string(),
            ),
            ROLE,
            ACCOUNT,
        );
        assert_eq!(denied.status, RoleStatus::NotTrusted);
        assert!(
            denied
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("explicitly denies")),
            "{denied:?}"
        );
        assert!(
            denied
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("remove the statement")),
            "{denied:?}"
        );
        let missing = fix(ROLE, RoleStatus::Missing, "it does not exist");
        assert!(missing.contains("aws iam create-role --role-name AWSBackupDefaultServiceRole --path /service-role/ --assume-role-policy-document '{"), "{missing}");
        assert!(
            missing.contains(&format!("--policy-arn {BACKUP_POLICY}")),
            "{missing}"
        );
        assert!(
            missing.contains(&format!("--policy-arn {RESTORE_POLICY}")),
            "{missing}"
        );
        assert!(
            missing.contains("coffer drill --create-service-role"),
            "{missing}"
        );
        // A custom role is never Coffer's to create.
        let custom = fix(
            "arn:aws:iam::666777888999:role/MyBackupRole",
            RoleStatus::Missing,
            "it does not exist",
        );
        assert!(!custom.contains("--create-service-role"), "{custom}");
        assert!(
            custom.contains("--role-name MyBackupRole --path / "),
            "{custom}"
        );
        let account = coffer_spec::load_str(SEED)
            .topology
            .expect("seed")
            .accounts
            .values()
            .next()
            .expect("an account")
            .clone();
        let mut refused = crate::error::Call::new(&account, "-", "iam:GetRole")
            .message("User is not authorized to perform: iam:GetRole".into());
        refused.code = Some("AccessDenied".into());
        let unreadable = unreadable(&refused, ROLE);
        assert_eq!(unreadable.status, RoleStatus::Unreadable);
        assert!(
            unreadable
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("needs iam:GetRole")),
            "{unreadable:?}"
        );
    }

    #[test]
    fn the_drill_uses_the_job_role_and_a_restore_role_per_destination_account() {
        let topology = coffer_spec::load_str(SEED).topology.expect("seed");
        let plan = topology.backup_plans.values().next().expect("plan");
        let rule = plan.rules.first().expect("rule");
        let uses = drill_uses(&topology, plan, rule);
        let summary: Vec<(&str, &str, Vec<String>)> = uses
            .iter()
            .map(|u| {
                (
                    u.account.id.as_str(),
                    u.role_arn.as_str(),
                    u.purposes.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "111222333444",
                    "arn:aws:iam::111222333444:role/service-role/AWSBackupDefaultServiceRole",
                    vec!["the backup and copy jobs of plan orders-daily".to_string()]
                ),
                (ACCOUNT, ROLE, vec!["the restore in backup".to_string()]),
            ]
        );
        let problem = RoleProblem {
            role: uses[1].clone(),
            status: problem(RoleStatus::Missing, "it does not exist".into(), ROLE),
        };
        let message = drill_message(std::slice::from_ref(&problem));
        assert!(
            message.starts_with("AWS Backup cannot assume 1 role the drill passes it, so no job was started:\n  - role arn:aws:iam::666777888999:role/service-role/AWSBackupDefaultServiceRole in account `backup` (666777888999), for the restore in backup: it does not exist\n"),
            "{message}"
        );
        assert!(
            message.contains("\n      aws iam create-role --role-name AWSBackupDefaultServiceRole"),
            "{message}"
        );
        assert!(
            message.ends_with("coffer drill --create-service-role` to let Coffer create it"),
            "{message}"
        );
    }
}
