//! Which findings of the checks predict a failed restore drill: the errors and blockers about
//! what failed (the resource drilled, its backup plan, or the vault of the stage that failed),
//! found on AWS as it reads after the failure.

use crate::checks::{Finding, Severity};

/// What failed in a drill, in the terms of the drill's report.
#[derive(Debug, Clone, Copy)]
pub struct DrillFailure<'a> {
    /// The backup plan drilled.
    pub plan: &'a str,
    /// The resource backed up.
    pub resource: &'a str,
    /// The name of the first stage that failed (`copy to vault.<name>` for a copy).
    pub failed_stage: Option<&'a str>,
}

/// The findings of at least error severity about what failed, each as
/// `CHECK subject: message`, in the order of `findings`.
pub fn predicted_by(findings: &[Finding], failure: &DrillFailure) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity >= Severity::Error && concerns(f, failure))
        .map(|f| format!("{} {}: {}", f.check, f.subject_text(), f.message))
        .collect()
}

/// Whether `finding` is about what failed: its subject names the drilled resource, the drilled
/// plan, or the vault a failed copy stage copied to.
fn concerns(finding: &Finding, failure: &DrillFailure) -> bool {
    let subject = finding.subject.as_str();
    let failed_vault = failure
        .failed_stage
        .and_then(|stage| stage.strip_prefix("copy to "));
    subject.contains(failure.resource)
        || subject.starts_with(&format!("backup_plan.{} ", failure.plan))
        || failed_vault.is_some_and(|vault| subject.contains(vault))
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
            failed_stage: Some(stage),
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
        assert!(predicted_by(&findings, &other).is_empty());
        assert!(predicted_by(&findings, &failure("other", "backup")).is_empty());
        for finding in &mut findings {
            finding.severity = Severity::Warning;
        }
        let copy = failure("orders-daily", "copy to vault.central");
        assert!(predicted_by(&findings, &copy).is_empty());
    }
}
