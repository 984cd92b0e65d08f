//! Backup plans: the plan's name in AWS, its rules with their schedules, lifecycles and
//! copies, and its resource selections.

use std::collections::BTreeMap;

use super::{PlaceNames, Placement, Resolver, is_role_in};
use crate::aws_limits;
use crate::checks;
use crate::codes;
use crate::diag::plural;
use crate::format::{BackupPlanSpec, LifecycleSpec, RuleSpec, SelectionSpec};
use crate::topology::*;
use crate::yaml::{Located, Pos};

/// The account ID a selection's ARNs show for a plan whose account is unknown (reported
/// already).
const UNKNOWN_ACCOUNT_ID: &str = "000000000000";

impl Resolver<'_> {
    pub(super) fn backup_plans(
        &mut self,
        accounts: &BTreeMap<AccountName, Account>,
        vaults: &BTreeMap<VaultName, Vault>,
    ) -> BTreeMap<PlanName, BackupPlan> {
        let mut out = BTreeMap::new();
        let mut names = PlaceNames::new("plan name", "plan", "give each plan its own name");
        for (name, located) in &self.file.backup_plans {
            let spec: &BackupPlanSpec = located;
            let place = self.placement(
                ("backup_plans", "backup plan"),
                name,
                located.pos,
                spec.account.as_ref(),
                spec.region.as_ref(),
            );
            let name_pos = self.key_pos("backup_plans", name, located.pos);
            let plan_name = spec
                .name
                .clone()
                .unwrap_or_else(|| Located::new(name.clone(), name_pos));
            if let Err(reason) = aws_limits::plan_item_name("plan", &plan_name) {
                self.error(
                    codes::PLAN_NAME,
                    plan_name.pos,
                    reason,
                    "set `name:` to a valid plan name".into(),
                );
            }
            self.claim(&mut names, &place, &plan_name, name);
            if spec.rules.is_empty() {
                self.error(
                    codes::MISSING_FIELD,
                    name_pos,
                    format!("backup plan `{name}` has no rules"),
                    "add at least one rule under `rules:`".into(),
                );
            }
            let rules = self.rules(spec, &place, vaults);
            let selections = self.selections(spec, &place, accounts);
            self.tags(&spec.tags);
            let (Some(account), Some(region)) = (place.account, place.region) else {
                continue;
            };
            let plan = PlanName(name.clone());
            out.insert(
                plan.clone(),
                BackupPlan {
                    name: plan,
                    account,
                    region,
                    plan_name: plan_name.value,
                    rules,
                    selections,
                    adopt: spec.adopt,
                    tags: spec.tags.value.clone(),
                },
            );
        }
        out
    }

    /// The plan's rules that resolve: a rule whose vault is unknown is left out.
    fn rules(
        &mut self,
        spec: &BackupPlanSpec,
        place: &Placement,
        vaults: &BTreeMap<VaultName, Vault>,
    ) -> Vec<Rule> {
        let mut names: BTreeMap<String, Pos> = BTreeMap::new();
        let mut rules = Vec::new();
        for rule in &spec.rules {
            self.unique_in_plan(&mut names, &rule.name, "rule");
            if let Some(rule) = self.rule(rule, place, vaults) {
                rules.push(rule);
            }
        }
        rules
    }

    fn selections(
        &mut self,
        spec: &BackupPlanSpec,
        place: &Placement,
        accounts: &BTreeMap<AccountName, Account>,
    ) -> Vec<Selection> {
        let mut names: BTreeMap<String, Pos> = BTreeMap::new();
        let mut selections = Vec::new();
        let account_id = place.account_id(accounts);
        for selection in &spec.selections {
            self.unique_in_plan(&mut names, &selection.name, "selection");
            selections.push(self.selection(
                selection,
                account_id.as_deref(),
                place.region.as_deref(),
            ));
        }
        selections
    }

    fn rule(
        &mut self,
        spec: &Located<RuleSpec>,
        place: &Placement,
        vaults: &BTreeMap<VaultName, Vault>,
    ) -> Option<Rule> {
        if let Err(reason) = aws_limits::plan_item_name("rule", &spec.name) {
            self.error(
                codes::PLAN_NAME,
                spec.name.pos,
                reason,
                "rename the rule".into(),
            );
        }
        let schedule = self.schedule(spec);
        let lifecycle = self.lifecycle(spec.lifecycle.as_ref());
        if spec.continuous_backup {
            self.continuous(spec, &lifecycle);
        }
        let vault = self.vault_ref(&spec.vault);
        if let Some(target) = vault.as_ref().and_then(|v| vaults.get(v)) {
            self.rule_vault(spec, place, target, &lifecycle);
        }
        let copy_to = self.copies(spec, vaults);
        Some(Rule {
            name: spec.name.value.clone(),
            vault: vault?,
            schedule,
            schedule_timezone: spec.schedule_timezone.as_ref().map(|z| z.value.clone()),
            start_window_minutes: spec.start_window_minutes.as_ref().map(|v| v.value),
            completion_window_minutes: spec.completion_window_minutes.as_ref().map(|v| v.value),
            lifecycle,
            copy_to,
            continuous_backup: spec.continuous_backup,
            recovery_point_tags: spec.recovery_point_tags.clone(),
        })
    }

    /// The rule's schedule (the default when it has none), checked with its time zone and
    /// its start and completion windows.
    fn schedule(&mut self, spec: &RuleSpec) -> String {
        let schedule = match &spec.schedule {
            Some(schedule) => {
                if let Err(reason) = aws_limits::schedule(schedule) {
                    self.error(
                        codes::SCHEDULE,
                        schedule.pos,
                        reason,
                        "for example `cron(0 5 ? * * *)` runs daily at 05:00".into(),
                    );
                }
                schedule.value.clone()
            }
            None => aws_limits::DEFAULT_SCHEDULE.to_string(),
        };
        if let Some(zone) = &spec.schedule_timezone
            && let Err(reason) = aws_limits::timezone(zone)
        {
            self.error(
                codes::TIMEZONE,
                zone.pos,
                reason,
                "use a name from the IANA time zone database".into(),
            );
        }
        if let Some(start) = &spec.start_window_minutes
            && (start.value < aws_limits::MIN_START_WINDOW_MINUTES
                || start.value > aws_limits::MAX_START_WINDOW_MINUTES)
        {
            self.error(
                codes::WINDOW,
                start.pos,
                format!(
                    "start_window_minutes {} is outside 60-52560000",
                    start.value
                ),
                "AWS Backup rejects start windows under 60 minutes; use 60 or more".into(),
            );
        }
        if let Some(completion) = &spec.completion_window_minutes {
            let start = spec.start_window_minutes.as_ref().map_or(0, |s| s.value);
            if completion.value < 1 || completion.value <= start {
                self.error(codes::WINDOW, completion.pos, format!("completion_window_minutes {} must be positive and longer than the start window", completion.value), "give the job more time to complete than to start".into());
            }
        }
        schedule
    }

    /// Continuous backups keep at most 35 days and never move to cold storage.
    fn continuous(&mut self, spec: &Located<RuleSpec>, lifecycle: &Lifecycle) {
        let cold = lifecycle
            .move_to_cold_storage_after_days
            .is_some_and(|d| d >= 0);
        let long = lifecycle
            .delete_after_days
            .is_none_or(|d| !(0..=aws_limits::MAX_CONTINUOUS_RETENTION_DAYS).contains(&d));
        if cold || long {
            self.error(
                codes::CONTINUOUS,
                spec.lifecycle.as_ref().map_or(spec.pos, |l| l.pos),
                "continuous backups keep at most 35 days and never move to cold storage".into(),
                "set `delete_after_days` to 35 or less and remove `move_to_cold_storage_after_days`".into(),
            );
        }
    }

    /// The rule's vault `target` is in the plan's account and region, and its lock admits
    /// the rule's lifecycle.
    fn rule_vault(
        &mut self,
        spec: &Located<RuleSpec>,
        place: &Placement,
        target: &Vault,
        lifecycle: &Lifecycle,
    ) {
        // Only a known difference: an unknown plan account or bad region is reported already.
        if place.account.as_ref().is_some_and(|a| *a != target.account)
            || place.region.as_ref().is_some_and(|r| *r != target.region)
        {
            self.error(
                codes::RULE_VAULT_PLACEMENT,
                spec.vault.pos,
                format!("vault `{}` is in {}/{}, not in the plan's account and region", target.name, target.account, target.region),
                "a rule backs up into a vault of its own plan's account and region; use `copy_to` for other accounts or regions".into(),
            );
        }
        self.lock_fit(
            target,
            lifecycle,
            spec.lifecycle.as_ref().map_or(spec.pos, |l| l.pos),
            &format!("rule `{}`", spec.name.value),
            checks::BACKUP_LIFECYCLE_IN_LOCK,
        );
    }

    /// The rule's copies whose vault is known, each lifecycle checked against the lock of
    /// its destination.
    fn copies(&mut self, spec: &RuleSpec, vaults: &BTreeMap<VaultName, Vault>) -> Vec<Copy> {
        if spec.copy_to.len() > aws_limits::MAX_COPY_ACTIONS {
            self.error(
                codes::TOO_MANY_COPIES,
                spec.copy_to[aws_limits::MAX_COPY_ACTIONS].pos,
                format!(
                    "rule `{}` has {} copy actions",
                    spec.name.value,
                    spec.copy_to.len()
                ),
                "AWS Backup allows at most 5 copy actions per rule; split the rule".into(),
            );
        }
        let mut copy_to = Vec::new();
        for copy in &spec.copy_to {
            let lifecycle = self.lifecycle(copy.lifecycle.as_ref());
            let Some(destination) = self.vault_ref(&copy.vault) else {
                continue;
            };
            if let Some(target) = vaults.get(&destination) {
                self.lock_fit(
                    target,
                    &lifecycle,
                    copy.lifecycle.as_ref().map_or(copy.pos, |l| l.pos),
                    &format!("the copy to `{destination}`"),
                    checks::COPY_LIFECYCLE_IN_LOCK,
                );
            }
            copy_to.push(Copy {
                vault: destination,
                lifecycle,
            });
        }
        copy_to
    }

    fn lifecycle(&mut self, spec: Option<&Located<LifecycleSpec>>) -> Lifecycle {
        let Some(spec) = spec else {
            return Lifecycle::default();
        };
        let in_range = |d: i64| d == -1 || (1..=aws_limits::MAX_RETENTION_DAYS).contains(&d);
        for days in [
            &spec.move_to_cold_storage_after_days,
            &spec.delete_after_days,
        ]
        .into_iter()
        .flatten()
        {
            if !in_range(days.value) {
                self.error(
                    codes::LIFECYCLE,
                    days.pos,
                    format!("{} days is outside 1-36500", days.value),
                    "use 1 to 36500 days, or -1 to keep indefinitely".into(),
                );
            }
        }
        if let (Some(cold), Some(delete)) = (
            &spec.move_to_cold_storage_after_days,
            &spec.delete_after_days,
        ) && cold.value >= 0
            && delete.value >= 0
            && delete.value < cold.value + aws_limits::COLD_STORAGE_MINIMUM_DAYS
        {
            self.error(
                codes::LIFECYCLE,
                delete.pos,
                format!(
                    "delete_after_days {} is less than move_to_cold_storage_after_days {} + 90",
                    delete.value, cold.value
                ),
                format!(
                    "cold storage has a 90-day minimum: set delete_after_days to at least {}",
                    cold.value + aws_limits::COLD_STORAGE_MINIMUM_DAYS
                ),
            );
        }
        Lifecycle {
            move_to_cold_storage_after_days: spec
                .move_to_cold_storage_after_days
                .as_ref()
                .map(|v| v.value),
            delete_after_days: spec.delete_after_days.as_ref().map(|v| v.value),
        }
    }

    /// A lifecycle going into `vault` must fit its lock.
    fn lock_fit(
        &mut self,
        vault: &Vault,
        lifecycle: &Lifecycle,
        pos: Pos,
        what: &str,
        check: &'static str,
    ) {
        let Some(lock) = &vault.lock else { return };
        if let (Some(min), Some(max)) = (lock.min_retention_days, lock.max_retention_days)
            && min > max
        {
            // Reported as E122 at the lock; no lifecycle could fit it.
            return;
        }
        if lock.admits(lifecycle.delete_after_days) {
            if lock.is_compliance() && lifecycle.delete_after_days.is_none_or(|d| d < 0) {
                self.warn(
                    codes::W_FOREVER_IN_COMPLIANCE,
                    pos,
                    format!("{what} keeps recovery points forever in compliance-locked vault `{}`", vault.name),
                    "once the lock's grace time passes these recovery points can never be deleted; set `delete_after_days`".into(),
                );
            }
            return;
        }
        let bounds = format!(
            "{}-{}",
            lock.min_retention_days
                .map_or("any".to_string(), |d| d.to_string()),
            lock.max_retention_days
                .map_or("any".to_string(), |d| d.to_string())
        );
        let kept = lifecycle
            .delete_after_days
            .filter(|d| *d >= 0)
            .map_or("forever".to_string(), |d| plural(d, "day", "days"));
        self.blocker(
            codes::LOCK_RETENTION,
            check,
            pos,
            format!("{what} keeps recovery points {kept}, outside the lock of vault `{}` ({bounds} days)", vault.name),
            "AWS Backup fails every job whose retention is outside the destination vault's lock; set `lifecycle.delete_after_days` within the bounds".into(),
        );
    }

    fn selection(
        &mut self,
        spec: &Located<SelectionSpec>,
        account_id: Option<&str>,
        region: Option<&str>,
    ) -> Selection {
        if let Err(reason) = aws_limits::plan_item_name("selection", &spec.name) {
            self.error(
                codes::PLAN_NAME,
                spec.name.pos,
                reason,
                "rename the selection".into(),
            );
        }
        let role_arn = self.selection_role(spec, account_id);
        if spec.resources.is_empty() && spec.tags.is_empty() {
            self.error(
                codes::SELECTION,
                spec.name.pos,
                format!("selection `{}` selects nothing", spec.name.value),
                "add `resources:` (ARNs) or `tags:`".into(),
            );
        }
        let arns = spec.resources.len() + spec.not_resources.len();
        let mut wildcards = 0;
        for arn in spec.resources.iter().chain(&spec.not_resources) {
            if self.selection_arn(arn, account_id, region) {
                wildcards += 1;
            }
        }
        let plain = arns - wildcards;
        if wildcards > aws_limits::MAX_SELECTION_WILDCARD_ARNS
            || plain > aws_limits::MAX_SELECTION_ARNS
        {
            self.error(
                codes::SELECTION,
                spec.name.pos,
                format!(
                    "selection `{}` lists {plain} ARNs and {wildcards} wildcard ARNs",
                    spec.name.value
                ),
                "AWS Backup takes at most 500 ARNs, or 30 with wildcards; select by tags instead"
                    .into(),
            );
        }
        Selection {
            name: spec.name.value.clone(),
            role_arn,
            resources: spec.resources.iter().map(|r| r.value.clone()).collect(),
            not_resources: spec.not_resources.iter().map(|r| r.value.clone()).collect(),
            tags: spec.tags.value.clone(),
        }
    }

    /// The role AWS Backup uses for the selection: a role of the plan's account, or (for
    /// `service-default` or none) AWS Backup's default service role there.
    fn selection_role(&mut self, spec: &SelectionSpec, account_id: Option<&str>) -> String {
        match &spec.role {
            Some(role) if role.value != "service-default" => {
                // With the plan's account unknown (reported already) there is nothing to compare.
                if let Some(id) = account_id
                    && !is_role_in(role, id)
                {
                    self.error(
                        codes::ROLE,
                        role.pos,
                        format!(
                            "`{}` is not a role ARN in the plan's account {id}",
                            role.value
                        ),
                        "use `service-default` or `arn:aws:iam::<plan account>:role/<name>`".into(),
                    );
                }
                role.value.clone()
            }
            _ => format!(
                "arn:aws:iam::{}:role/{}",
                account_id.unwrap_or(UNKNOWN_ACCOUNT_ID),
                aws_limits::SERVICE_DEFAULT_ROLE
            ),
        }
    }

    /// Checks one ARN of a selection (of a plan in account `account_id` and `region`, when
    /// known); whether it is a wildcard ARN.
    fn selection_arn(
        &mut self,
        arn: &Located<String>,
        account_id: Option<&str>,
        region: Option<&str>,
    ) -> bool {
        if arn.value == "*" {
            return true;
        }
        let Some(parsed) = aws_limits::parse_arn(arn) else {
            self.error(
                codes::SELECTION,
                arn.pos,
                format!("`{}` is not a resource ARN", arn.value),
                "write a full ARN such as `arn:aws:rds:eu-west-1:111122223333:db:orders`, or `*`"
                    .into(),
            );
            return false;
        };
        // A backup plan backs up resources of its own account and region only.
        let concrete = |part: &str| !part.is_empty() && !part.contains('*');
        let other_account =
            concrete(parsed.account) && account_id.is_some_and(|id| id != parsed.account);
        let other_region = concrete(parsed.region) && region.is_some_and(|r| r != parsed.region);
        if other_account || other_region {
            self.error(
                codes::SELECTION,
                arn.pos,
                format!(
                    "`{}` is in {}/{}, not in the plan's account and region ({}/{})",
                    arn.value,
                    parsed.account,
                    parsed.region,
                    account_id.unwrap_or(UNKNOWN_ACCOUNT_ID),
                    region.unwrap_or("?")
                ),
                "a backup plan selects resources of its own account and region; put this resource in a plan there".into(),
            );
        }
        let Some(star) = arn.find('*') else {
            return false;
        };
        if star != arn.len() - 1 {
            self.error(
                codes::SELECTION,
                arn.pos,
                format!("`{}` has a `*` before its end", arn.value),
                "AWS Backup takes `*` only as the last character of an ARN".into(),
            );
        }
        true
    }
}
