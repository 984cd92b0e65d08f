//! Generated topologies and drifts of their live state: what the planner's properties and
//! the fuzzing harness (`crates/fuzz`) generate.
#![allow(dead_code)]

use coffer_planner::live::LiveState;
use proptest::prelude::*;
use serde_json::json;

/// The shape of a generated topology: how many source accounts and which features.
#[derive(Debug, Clone)]
pub struct Shape {
    pub sources: usize,
    pub second_region: bool,
    pub rotation: bool,
    pub organization_policy: bool,
    pub deny_deletion: bool,
    pub lock: Option<bool>,
    pub selections: usize,
    pub extra_tags: bool,
    pub cold: bool,
}

prop_compose! {
    /// Any [`Shape`].
    pub fn shape()(
        sources in 1usize..=3,
        second_region in any::<bool>(),
        rotation in any::<bool>(),
        organization_policy in any::<bool>(),
        deny_deletion in any::<bool>(),
        lock in prop::option::of(any::<bool>()),
        selections in 0usize..=2,
        extra_tags in any::<bool>(),
        cold in any::<bool>(),
    ) -> Shape {
        Shape {
            sources,
            second_region,
            rotation,
            organization_policy,
            deny_deletion,
            lock,
            selections,
            extra_tags,
            cold,
        }
    }
}

/// The topology file of `shape`: valid, with a central vault every source copies to.
pub fn yaml(shape: &Shape) -> String {
    let mut out = String::from(
        "version: 1\nname: generated\norganization:\n  id: o-generated00\n  management_account: management\n  cross_account_backup: enabled\ndefaults:\n  region: eu-west-1\n  role: CofferDeployRole\n",
    );
    if shape.extra_tags {
        out.push_str("  tags:\n    owner: platform\n");
    }
    out.push_str(
        "accounts:\n  management:\n    id: \"100000000000\"\n  backup:\n    id: \"900000000000\"\n",
    );
    for i in 0..shape.sources {
        out.push_str(&format!("  source{i}:\n    id: \"10000000000{}\"\n", i + 1));
    }
    let regions: Vec<&str> = if shape.second_region {
        vec!["eu-west-1", "us-east-1"]
    } else {
        vec!["eu-west-1"]
    };
    out.push_str("keys:\n");
    for region in &regions {
        out.push_str(&format!("  backup-{region}:\n    account: backup\n    region: {region}\n    alias: alias/backup/central\n"));
        if !shape.rotation {
            out.push_str("    rotation: {enabled: false}\n");
        }
        for i in 0..shape.sources {
            out.push_str(&format!("  source{i}-{region}:\n    account: source{i}\n    region: {region}\n    alias: alias/backup/source\n    usable_by: [backup]\n"));
        }
    }
    out.push_str("vaults:\n");
    for region in &regions {
        out.push_str(&format!("  central-{region}:\n    account: backup\n    region: {region}\n    name: central\n    key: backup-{region}\n    access_policy:\n"));
        if shape.organization_policy {
            out.push_str("      organization: true\n");
        } else {
            let sources: Vec<String> = (0..shape.sources).map(|i| format!("source{i}")).collect();
            out.push_str(&format!(
                "      allow_copy_from: [{}]\n",
                sources.join(", ")
            ));
        }
        if shape.deny_deletion {
            out.push_str("      deny_recovery_point_deletion: true\n");
            if shape.extra_tags {
                out.push_str(
                    "      break_glass_principals: [arn:aws:iam::900000000000:role/BreakGlass]\n",
                );
            }
        }
        match shape.lock {
            Some(true) => out.push_str("    lock: {min_retention_days: 1, max_retention_days: 1000, changeable_for_days: 3}\n"),
            Some(false) => out.push_str("    lock: {min_retention_days: 1, max_retention_days: 1000}\n"),
            None => {}
        }
        for i in 0..shape.sources {
            out.push_str(&format!("  source{i}-{region}:\n    account: source{i}\n    region: {region}\n    name: local\n    key: source{i}-{region}\n"));
        }
    }
    out.push_str("backup_plans:\n");
    for region in &regions {
        for i in 0..shape.sources {
            out.push_str(&format!("  plan{i}-{region}:\n    account: source{i}\n    region: {region}\n    name: daily\n    rules:\n      - name: daily\n        vault: source{i}-{region}\n        lifecycle:\n"));
            if shape.cold {
                out.push_str("          move_to_cold_storage_after_days: 10\n          delete_after_days: 100\n");
            } else {
                out.push_str("          delete_after_days: 35\n");
            }
            out.push_str(&format!("        copy_to:\n          - vault: central-{region}\n            lifecycle: {{delete_after_days: 365}}\n"));
            if shape.selections > 0 {
                out.push_str("    selections:\n");
                for s in 0..shape.selections {
                    out.push_str(&format!(
                        "      - name: sel{s}\n        tags: {{backup: tier{s}}}\n"
                    ));
                }
            }
        }
    }
    out
}

/// A change made by hand to a converged live state; the index picks the region.
#[derive(Debug, Clone)]
pub enum Drift {
    RotationOff(usize),
    PolicyStatement(usize),
    DropTags(usize),
    Lifecycle(usize),
    DropSelection(usize),
    CrossAccountOff,
    PendingDeletion(usize),
    DeleteVault(usize),
    DeleteAlias(usize),
    DeletePlan(usize),
    RotationPeriod(usize),
    KeyDescription(usize),
    DeleteVaultPolicy(usize),
    EditVaultPolicy(usize),
    DeleteLock(usize),
    CopyRetention(usize),
    KeyUntagged(usize),
}

/// Any [`Drift`].
pub fn drift() -> impl Strategy<Value = Drift> {
    prop_oneof![
        any::<usize>().prop_map(Drift::RotationOff),
        any::<usize>().prop_map(Drift::PolicyStatement),
        any::<usize>().prop_map(Drift::DropTags),
        any::<usize>().prop_map(Drift::Lifecycle),
        any::<usize>().prop_map(Drift::DropSelection),
        Just(Drift::CrossAccountOff),
        any::<usize>().prop_map(Drift::PendingDeletion),
        any::<usize>().prop_map(Drift::DeleteVault),
        any::<usize>().prop_map(Drift::DeleteAlias),
        any::<usize>().prop_map(Drift::DeletePlan),
        any::<usize>().prop_map(Drift::RotationPeriod),
        any::<usize>().prop_map(Drift::KeyDescription),
        any::<usize>().prop_map(Drift::DeleteVaultPolicy),
        any::<usize>().prop_map(Drift::EditVaultPolicy),
        any::<usize>().prop_map(Drift::DeleteLock),
        any::<usize>().prop_map(Drift::CopyRetention),
        any::<usize>().prop_map(Drift::KeyUntagged),
    ]
}

/// Applies `drift` to `live`.
pub fn apply_drift(live: &mut LiveState, drift: &Drift) {
    let regions: Vec<&mut coffer_planner::live::LiveRegion> = live
        .accounts
        .values_mut()
        .flat_map(|a| a.regions.values_mut())
        .collect();
    let mut regions = regions;
    let n = regions.len().max(1);
    match drift {
        Drift::CrossAccountOff => regions.iter_mut().for_each(|r| {
            if r.cross_account_backup.is_some() {
                r.cross_account_backup = Some(false)
            }
        }),
        Drift::RotationOff(i) => {
            if let Some(k) = regions[i % n].keys.first_mut() {
                k.rotation_enabled = false
            }
        }
        Drift::PendingDeletion(i) => {
            if let Some(k) = regions[i % n].keys.first_mut() {
                k.key_state = "PendingDeletion".into()
            }
        }
        Drift::PolicyStatement(i) => {
            if let Some(k) = regions[i % n].keys.first_mut()
                && let Some(p) = k.policy.as_mut()
                && let Some(s) = p["Statement"].as_array_mut()
            {
                s.push(json!({"Sid": "X", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}))
            }
        }
        Drift::DropTags(i) => {
            if let Some(v) = regions[i % n].vaults.first_mut() {
                v.tags.remove("owner");
                v.tags.insert("added".into(), "by hand".into());
            }
        }
        Drift::Lifecycle(i) => {
            if let Some(p) = regions[i % n].backup_plans.first_mut() {
                p.rules[0].lifecycle.delete_after_days = Some(1);
            }
        }
        Drift::DropSelection(i) => {
            if let Some(p) = regions[i % n].backup_plans.first_mut() {
                p.selections.pop();
            }
        }
        Drift::DeleteVault(i) => {
            regions[i % n].vaults.pop();
        }
        Drift::DeleteAlias(i) => {
            regions[i % n].aliases.pop();
        }
        Drift::DeletePlan(i) => {
            regions[i % n].backup_plans.pop();
        }
        Drift::RotationPeriod(i) => {
            if let Some(k) = regions[i % n].keys.first_mut() {
                k.rotation_period_days = Some(180)
            }
        }
        Drift::KeyDescription(i) => {
            if let Some(k) = regions[i % n].keys.first_mut() {
                k.description = "changed by hand".into()
            }
        }
        Drift::DeleteVaultPolicy(i) => {
            if let Some(v) = regions[i % n].vaults.first_mut() {
                v.access_policy = None
            }
        }
        Drift::EditVaultPolicy(i) => {
            if let Some(v) = regions[i % n].vaults.first_mut()
                && let Some(p) = v.access_policy.as_mut()
                && let Some(s) = p["Statement"].as_array_mut()
            {
                s.pop();
            }
        }
        Drift::DeleteLock(i) => {
            if let Some(v) = regions[i % n].vaults.first_mut() {
                v.lock = None
            }
        }
        Drift::CopyRetention(i) => {
            if let Some(p) = regions[i % n].backup_plans.first_mut()
                && let Some(c) = p.rules[0].copy_actions.first_mut()
            {
                c.lifecycle.delete_after_days = Some(2);
            }
        }
        Drift::KeyUntagged(i) => {
            // A hand-made key: the alias points to a key without Coffer's tags.
            if let Some(k) = regions[i % n].keys.first_mut() {
                k.tags.clear()
            }
        }
    }
}
