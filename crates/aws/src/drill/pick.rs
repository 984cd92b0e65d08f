//! What the drill drills: its backup plan, the rule whose copies it follows, and the resource
//! it backs up.

use coffer_spec::{BackupPlan, CopyEdge, Rule, Topology};

use super::{DrillError, DrillOptions};

/// The plan (`--plan`, else the topology's only plan with a copy action), its first rule with
/// a copy action (else its first rule), and the resource (`--resource`, else the plan's first
/// RDS instance selected by ARN).
pub(crate) fn pick<'t>(
    topology: &'t Topology,
    options: &DrillOptions,
) -> Result<(&'t BackupPlan, &'t Rule, String), DrillError> {
    let plan = plan(topology, options.plan.as_deref())?;
    let rule = plan
        .rules
        .iter()
        .find(|r| !r.copy_to.is_empty())
        .or_else(|| plan.rules.first())
        .ok_or_else(|| DrillError::Setup(format!("plan `{}` has no rules", plan.name)))?;
    let resource = match &options.resource {
        Some(arn) => arn.clone(),
        None => plan
            .selections
            .iter()
            .flat_map(|s| &s.resources)
            .find(|r| r.starts_with("arn:aws:rds:") && r.contains(":db:") && !r.contains('*'))
            .cloned()
            .ok_or_else(|| {
                DrillError::Setup(format!(
                    "plan `{}` selects no RDS instance by ARN; name one with --resource",
                    plan.name
                ))
            })?,
    };
    Ok((plan, rule, resource))
}

/// The plan named `name` (its logical or AWS name), else the only plan with a copy action.
fn plan<'t>(topology: &'t Topology, name: Option<&str>) -> Result<&'t BackupPlan, DrillError> {
    let candidates: Vec<&BackupPlan> = match name {
        Some(name) => topology
            .backup_plans
            .values()
            .filter(|p| p.name.as_str() == name || p.plan_name == name)
            .collect(),
        None => topology
            .backup_plans
            .values()
            .filter(|p| p.rules.iter().any(|r| !r.copy_to.is_empty()))
            .collect(),
    };
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => Err(DrillError::Setup(match name {
            Some(name) => format!("no backup plan `{name}` in the topology"),
            None => "no backup plan of the topology copies anywhere; name one with --plan".into(),
        })),
        many => Err(DrillError::Setup(format!(
            "several plans copy recovery points ({}); choose one with --plan",
            many.iter()
                .map(|p| p.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The copies of `rule` (a rule of `topology`), in file order: the copy edges the drill
/// follows.
pub(crate) fn copies<'t>(topology: &'t Topology, rule: &Rule) -> Vec<CopyEdge<'t>> {
    topology
        .copy_edges()
        .filter(|edge| std::ptr::eq(edge.rule, rule))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::tests::seed;

    #[test]
    fn the_seed_drills_its_copying_plan_and_its_database() {
        let topology = seed(&[]);
        let (plan, rule, resource) = pick(&topology, &DrillOptions::default()).expect("picked");
        assert_eq!(plan.name.as_str(), "orders-daily");
        assert!(resource.starts_with("arn:aws:rds:"), "{resource}");
        let destinations: Vec<String> = copies(&topology, rule)
            .iter()
            .map(|edge| edge.destination.name.to_string())
            .collect();
        assert_eq!(destinations, ["central"]);
        let options = DrillOptions {
            plan: Some("nope".into()),
            ..DrillOptions::default()
        };
        assert_eq!(
            pick(&topology, &options).err().map(|e| e.to_string()),
            Some("no backup plan `nope` in the topology".to_string())
        );
    }
}
