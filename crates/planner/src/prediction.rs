//! Which findings of the checks predict a failed restore drill: the errors and blockers about
//! what failed (the resource drilled, its backup plan, or the vault of the stage that failed),
//! found on AWS as it reads after the failure.

use crate::checks::{Finding, Severity, SubjectKind};
use crate::model::ResourceKind;

/// What failed in a drill, in the terms of the drill's report.
#[derive(Debug, Clone, Copy)]
pub struct DrillFailure<'a> {
    /// The backup plan drilled (its logical name).
    pub plan: &'a str,
    /// The ARN of the resource backed up.
    pub resource: &'a str,
    /// The vault (logical name) of the copy stage that failed, when a copy failed.
    pub failed_copy_to: Option<&'a str>,
}

/// The findings of at least error severity about what failed, each as
/// `CHECK subject: message`, in the order of `findings`.
pub fn predicted_by(findings: &[Finding], failure: &DrillFailure) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity >= Severity::Error && concerns(f.subject.kind(), failure))
        .map(|f| format!("{} {}: {}", f.check, f.subject_text(), f.message))
        .collect()
}

/// Whether a finding about `subject` is about what failed: the drilled resource, a rule or
/// copy of the drilled backup plan, or the vault a failed copy stage copied to.
pub fn concerns(subject: &SubjectKind, failure: &DrillFailure) -> bool {
    let failed_vault = |name: &str| failure.failed_copy_to == Some(name);
    match subject {
        SubjectKind::Source { arn, on } => arn == failure.resource || concerns(on, failure),
        SubjectKind::Rule { plan, .. } | SubjectKind::CopyAction { plan, .. } => {
            plan.as_str() == failure.plan
        }
        SubjectKind::CopyEdge {
            plan, destination, ..
        } => plan.as_str() == failure.plan || failed_vault(destination.as_str()),
        SubjectKind::Resource(address) => {
            address.kind == ResourceKind::Vault && failed_vault(&address.name)
        }
        // The checks never write `Other` (only a hand-edited plan file holds one).
        SubjectKind::Position { .. }
        | SubjectKind::Organization
        | SubjectKind::Account(_)
        | SubjectKind::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LiveState, checks, plan, simulate};

    const SEED: &str = include_str!("../../../examples/seed/topology.yaml");
    const RESOURCE: &str = "arn:aws:rds:eu-west-1:111222333444:db:orders";

    /// The findings of the seed without AWS Organizations, applied: blocker CB005 on the copy
    /// edge of `orders-daily` to `vault.central`, and again at the line of the file.
    fn findings() -> Vec<Finding> {
        let loaded = coffer_spec::load_str(&SEED.replace("      organization: true\n", ""));
        let topology = loaded.topology.expect("loads");
        let mut live = LiveState::default();
        simulate::play(&plan(&topology, &live), &mut live, false);
        checks::evaluate(&topology, &loaded.diagnostics, Some(&live))
    }

    fn failure<'a>(plan: &'a str, stage: &'a str) -> DrillFailure<'a> {
        DrillFailure {
            plan,
            resource: RESOURCE,
            failed_copy_to: stage.strip_prefix("copy to vault."),
        }
    }

    #[test]
    fn a_failed_copy_is_predicted_by_the_blockers_about_its_plan_or_vault() {
        let findings = findings();
        let edge: Vec<String> = findings
            .iter()
            .filter(|f| f.check == "CB005" && f.subject_text().contains("vault.central"))
            .map(|f| format!("CB005 {}: {}", f.subject_text(), f.message))
            .collect();
        assert_eq!(edge.len(), 1, "{findings:?}");
        let copy = "copy to vault.central";
        assert_eq!(
            predicted_by(&findings, &failure("orders-daily", copy)),
            edge
        );
        assert_eq!(predicted_by(&findings, &failure("other", copy)), edge);
        assert_eq!(
            predicted_by(&findings, &failure("orders-daily", "backup")),
            edge
        );
    }

    #[test]
    fn findings_about_something_else_or_below_error_predict_nothing() {
        let mut findings = findings();
        let other = failure("other", "copy to vault.elsewhere");
        let kind = |text: &str| SubjectKind::parse(text);
        let seed = failure("orders-daily", "copy to vault.central");
        assert!(concerns(
            &kind(&format!("{RESOURCE} (backup_plan.x)")),
            &seed
        ));
        assert!(concerns(
            &kind("backup_plan.orders-daily rule daily"),
            &seed
        ));
        assert!(!concerns(
            &kind("backup_plan.orders-daily-2 rule daily"),
            &seed
        ));
        assert!(concerns(&kind("vault.central"), &seed));
        assert!(!concerns(&kind("vault.central-2"), &seed));
        assert!(!concerns(
            &kind("vault.central"),
            &failure("orders-daily", "backup")
        ));
        assert!(predicted_by(&findings, &other).is_empty());
        assert!(predicted_by(&findings, &failure("other", "backup")).is_empty());
        for finding in &mut findings {
            finding.severity = Severity::Warning;
        }
        let copy = failure("orders-daily", "copy to vault.central");
        assert!(predicted_by(&findings, &copy).is_empty());
    }
}
