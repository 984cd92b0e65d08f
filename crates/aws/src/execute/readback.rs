//! Reading back what a step wrote: a vault access policy, a vault lock, a backup plan and a
//! selection are read once written and compared with what was sent, by meaning (policies in
//! their canonical form; plans and selections in the fields Coffer sets). When AWS holds
//! something else, the step fails naming the resource, the field, what was sent and what AWS
//! holds: the apply must not report as done what AWS does not hold.

use std::time::Duration;

use aws_sdk_backup::types::BackupPlan;
use coffer_apply::StepError;
use coffer_planner::model::{BackupPlanDocument, SelectionDocument};
use coffer_planner::policy;
use serde::Serialize;
use serde_json::{Value, json};

use super::At;
use crate::read::{live_rule, live_selection};

/// Reads before a difference counts (AWS may answer a read just after a write with the state
/// before it), and the wait between them.
const READS: u32 = 4;
const BETWEEN_READS: Duration = Duration::from_millis(500);

/// A field AWS holds with another value than the one sent.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Difference {
    pub field: String,
    pub sent: Value,
    pub held: Value,
}

/// Reads with `read` until what AWS holds matches `sent`, [`READS`] times at most; then the
/// step fails naming `resource` and the first field that differs.
async fn until_same<F, Fut>(resource: &str, sent: &Value, read: F) -> Result<(), StepError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Value, StepError>>,
{
    let mut last = None;
    for attempt in 0..READS {
        if attempt > 0 {
            tokio::time::sleep(BETWEEN_READS).await;
        }
        let held = read().await?;
        match first_difference("", sent, &held) {
            None => return Ok(()),
            Some(difference) => last = Some(difference),
        }
    }
    let difference = last.expect("at least one read");
    Err(StepError::fatal(format!(
        "{resource}: AWS holds a different `{}` than Coffer wrote: sent {}, AWS holds {}; something changed it on write (a service normalisation, an automation): run `coffer plan` to see the difference",
        difference.field, difference.sent, difference.held
    )))
}

/// The first field where `held` differs from `sent`, by path (`rules[daily].schedule`). Fields
/// sent as `null` (left to AWS's defaults) are not compared; lists are compared element by
/// element, objects key by key.
pub(super) fn first_difference(path: &str, sent: &Value, held: &Value) -> Option<Difference> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (sent, held) {
        (Value::Null, _) => None,
        (Value::Object(sent), Value::Object(held)) => sent.iter().find_map(|(key, value)| {
            first_difference(&at(key), value, held.get(key).unwrap_or(&Value::Null))
        }),
        (Value::Array(s), Value::Array(h)) if s.len() == h.len() => s
            .iter()
            .zip(h)
            .enumerate()
            .find_map(|(i, (s, h))| first_difference(&format!("{path}[{i}]"), s, h)),
        _ if sent == held => None,
        _ => Some(Difference {
            field: if path.is_empty() {
                "document".into()
            } else {
                path.into()
            },
            sent: sent.clone(),
            held: held.clone(),
        }),
    }
}

fn as_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The vault's access policy, compared in canonical form.
pub(super) async fn vault_access_policy(
    at: &At<'_>,
    vault_name: &str,
    sent: &Value,
) -> Result<(), StepError> {
    let resource = format!("vault access policy of `{vault_name}`");
    let sent = json!({ "Policy": policy::canonical(sent) });
    until_same(&resource, &sent, || async {
        let request = at.backup.get_backup_vault_access_policy();
        let out = request.backup_vault_name(vault_name).send().await;
        let out = out.map_err(|e| at.failed("backup:GetBackupVaultAccessPolicy", e))?;
        let held = out.policy().and_then(|p| serde_json::from_str(p).ok());
        Ok(json!({ "Policy": held.map(|p| policy::canonical(&p)) }))
    })
    .await
}

/// The vault's lock: its minimum and maximum retention.
pub(super) async fn vault_lock(
    at: &At<'_>,
    vault_name: &str,
    min_retention_days: Option<i64>,
    max_retention_days: Option<i64>,
    changeable_for_days: Option<i64>,
) -> Result<(), StepError> {
    let resource = format!("vault lock of `{vault_name}`");
    let sent = json!({
        "MinRetentionDays": min_retention_days,
        "MaxRetentionDays": max_retention_days,
        "Mode": lock_mode(changeable_for_days.is_some()),
        "ChangeableForDays": changeable_for_days,
    });
    until_same(&resource, &sent, || async {
        let request = at.backup.describe_backup_vault();
        let out = request.backup_vault_name(vault_name).send().await;
        let out = out.map_err(|e| at.failed("backup:DescribeBackupVault", e))?;
        let (min, max) = (out.min_retention_days(), out.max_retention_days());
        let lock_date = out.lock_date().map(|date| date.secs());
        Ok(json!({
            "MinRetentionDays": min,
            "MaxRetentionDays": max,
            "Mode": lock_mode(lock_date.is_some()),
            "ChangeableForDays": lock_date.map(|date| days_until(date, i64::try_from(crate::now_secs()).unwrap_or(i64::MAX))),
        }))
    })
    .await
}

/// A vault lock's mode: compliance when it has a `LockDate` (it was put with
/// `ChangeableForDays`), governance when not.
fn lock_mode(compliance: bool) -> &'static str {
    if compliance {
        "compliance"
    } else {
        "governance"
    }
}

/// Whole days from `now` to `date` (Unix seconds), rounded: the `ChangeableForDays` of a lock put
/// just now whose `LockDate` is `date`, whatever the seconds since and a clock hours apart.
fn days_until(date: i64, now: i64) -> i64 {
    const DAY: i64 = 86_400;
    (date - now + DAY / 2).div_euclid(DAY)
}

/// The backup plan `plan_id`: its name and, rule by rule, the fields Coffer sets.
pub(super) async fn backup_plan(
    at: &At<'_>,
    plan_id: &str,
    sent: &BackupPlanDocument,
) -> Result<(), StepError> {
    let resource = format!("backup plan `{}` ({plan_id})", sent.name);
    until_same(&resource, &as_json(sent), || async {
        let request = at.backup.get_backup_plan().backup_plan_id(plan_id);
        let out = request.send().await;
        let out = out.map_err(|e| at.failed("backup:GetBackupPlan", e))?;
        Ok(out.backup_plan().map(held_plan).unwrap_or(Value::Null))
    })
    .await
}

/// A plan as AWS holds it, in the shape of the plan's document (a live rule serialises with
/// the field names of the rule's document).
fn held_plan(plan: &BackupPlan) -> Value {
    let rules: Vec<Value> = plan
        .rules()
        .iter()
        .map(|r| as_json(&live_rule(r)))
        .collect();
    json!({ "name": plan.backup_plan_name(), "rules": rules })
}

/// The selection `selection_id` of `plan_id`: name, role, resources (in any order) and tags.
pub(super) async fn selection(
    at: &At<'_>,
    plan_id: &str,
    selection_id: &str,
    sent: &SelectionDocument,
) -> Result<(), StepError> {
    let resource = format!("backup selection `{}` ({selection_id})", sent.name);
    until_same(&resource, &sorted_selection(sent), || async {
        let request = at.backup.get_backup_selection().backup_plan_id(plan_id);
        let out = request.selection_id(selection_id).send().await;
        let out = out.map_err(|e| at.failed("backup:GetBackupSelection", e))?;
        let held = live_selection(selection_id, out.backup_selection());
        Ok(sorted_selection(&held))
    })
    .await
}

/// A selection's document, or a live selection (its field names are the document's), with
/// its resource lists sorted.
fn sorted_selection(selection: &impl Serialize) -> Value {
    let mut value = as_json(selection);
    for list in ["resources", "not_resources"] {
        if let Some(Value::Array(items)) = value.get_mut(list) {
            items.sort_by_key(Value::to_string);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_date_reads_as_the_days_it_was_put_with() {
        const DAY: i64 = 86_400;
        let put = 1_700_000_000;
        for days in [3, 7, 36_500] {
            let lock_date = put + days * DAY;
            // Read seconds after the put, or with a clock hours ahead or behind AWS's.
            for now in [put, put + 5, put + 11 * 3_600, put - 11 * 3_600] {
                assert_eq!(
                    days_until(lock_date, now),
                    days,
                    "{days} days, read at {now}"
                );
            }
        }
        assert_eq!(lock_mode(true), "compliance");
        assert_eq!(lock_mode(false), "governance");
    }

    #[test]
    fn fields_left_to_aws_are_not_compared() {
        let sent = json!({"name": "p", "rules": [{"schedule": "cron(0 5 ? * * *)", "start_window_minutes": null}]});
        let held = json!({"name": "p", "rules": [{"schedule": "cron(0 5 ? * * *)", "start_window_minutes": 480}]});
        assert_eq!(first_difference("", &sent, &held), None);
    }

    #[test]
    fn the_first_differing_field_is_named_with_its_path() {
        let sent = json!({"name": "p", "rules": [{"schedule": "cron(0 5 ? * * *)"}]});
        let held = json!({"name": "p", "rules": [{"schedule": "cron(0 1 ? * * *)"}]});
        assert_eq!(
            first_difference("", &sent, &held),
            Some(Difference {
                field: "rules[0].schedule".into(),
                sent: json!("cron(0 5 ? * * *)"),
                held: json!("cron(0 1 ? * * *)"),
            })
        );
    }

    #[test]
    fn lists_of_other_lengths_and_missing_values_differ() {
        let sent = json!({"resources": ["a"]});
        let held = json!({"resources": ["a", "b"]});
        let difference = first_difference("", &sent, &held).expect("a difference");
        assert_eq!(difference.field, "resources");
        let missing = first_difference("", &json!({"Policy": {"a": 1}}), &json!({}));
        assert_eq!(
            missing.map(|d| (d.field, d.held)),
            Some(("Policy".into(), Value::Null))
        );
    }

    #[test]
    fn selections_compare_resources_in_any_order() {
        let document = |resources: &[&str]| SelectionDocument {
            name: "s".into(),
            role_arn: "r".into(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            not_resources: vec![],
            tags: Default::default(),
        };
        let sent = sorted_selection(&document(&["b", "a"]));
        assert_eq!(
            first_difference("", &sent, &sorted_selection(&document(&["a", "b"]))),
            None
        );
        assert!(first_difference("", &sent, &sorted_selection(&document(&["a"]))).is_some());
    }
}
