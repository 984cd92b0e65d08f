//! The target of a finding: its subject and the AWS resource that subject names, built for
//! each kind of subject the checks write.

use coffer_spec::{BackupPlan, CopyEdge, Key, Vault};

use super::Context;
use super::subject::SubjectKind;
use crate::live::LiveKey;
use crate::model::ResourceKind;

/// What a finding is about and the AWS resource it names, if any: its name in AWS, its ARN
/// when it is known, its account ID and region.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub(super) subject: SubjectKind,
    pub(super) aws_name: Option<String>,
    pub(super) arn: Option<String>,
    pub(super) account: Option<String>,
    pub(super) region: Option<String>,
}

impl Target {
    /// `subject`, naming the resource `aws_name` in `account` and `region`.
    fn resource(
        subject: SubjectKind,
        aws_name: Option<&str>,
        arn: Option<&str>,
        account: &str,
        region: &str,
    ) -> Target {
        Target {
            subject,
            aws_name: aws_name.map(str::to_string),
            arn: arn.map(str::to_string),
            account: Some(account.to_string()),
            region: Some(region.to_string()),
        }
    }

    /// Another subject about the same resource.
    pub(super) fn about(&self, subject: SubjectKind) -> Target {
        Target {
            subject,
            ..self.clone()
        }
    }
}

impl From<SubjectKind> for Target {
    fn from(subject: SubjectKind) -> Target {
        Target {
            subject,
            aws_name: None,
            arn: None,
            account: None,
            region: None,
        }
    }
}

impl From<&Target> for Target {
    fn from(target: &Target) -> Target {
        target.clone()
    }
}

/// The targets of the subjects the checks write, with the AWS resource each names.
impl Context<'_> {
    /// `key.K`, known in AWS by its alias (and by its ARN once it exists).
    pub(super) fn key_target(&self, key: &Key, live: Option<&LiveKey>) -> Target {
        Target::resource(
            SubjectKind::Resource(ResourceKind::Key.at(key.name.as_str())),
            Some(&key.alias),
            live.map(|k| k.arn.as_str()),
            &self.account_id(&key.account),
            &key.region,
        )
    }

    /// A vault, its policy or its lock (`kind.V`): the vault's name and ARN (which follows
    /// from its name).
    pub(super) fn vault_target(&self, kind: ResourceKind, vault: &Vault) -> Target {
        Target::resource(
            SubjectKind::Resource(kind.at(vault.name.as_str())),
            Some(&vault.vault_name),
            Some(&self.topology.vault_arn(vault)),
            &self.account_id(&vault.account),
            &vault.region,
        )
    }

    /// `selection.P.S`: the selection's name (a selection has no ARN before it exists).
    pub(super) fn selection_target(&self, plan: &BackupPlan, selection: &str) -> Target {
        Target::resource(
            SubjectKind::Resource(ResourceKind::Selection.at(format!("{}.{selection}", plan.name))),
            Some(selection),
            None,
            &self.account_id(&plan.account),
            &plan.region,
        )
    }

    /// A rule or copy of a backup plan: the plan's name, and its ARN when it exists.
    pub(super) fn plan_target(&self, subject: SubjectKind, plan: &BackupPlan) -> Target {
        let arn = self.live_plan(plan).map(|p| p.arn.as_str());
        Target::resource(
            subject,
            Some(&plan.plan_name),
            arn,
            &self.account_id(&plan.account),
            &plan.region,
        )
    }

    /// A copy edge is about the rule of the backup plan that copies.
    pub(super) fn edge_target(&self, edge: &CopyEdge<'_>) -> Target {
        self.plan_target(SubjectKind::from(edge), edge.plan)
    }

    /// A resource a selection of `plan` names, by its ARN, checked `on` a copy edge or the
    /// plan.
    pub(super) fn source_target(&self, arn: &str, on: SubjectKind, plan: &BackupPlan) -> Target {
        Target::resource(
            SubjectKind::Source {
                arn: arn.to_string(),
                on: Box::new(on),
            },
            None,
            Some(arn),
            &self.account_id(&plan.account),
            &plan.region,
        )
    }
}
