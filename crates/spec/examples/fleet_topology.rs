//! Writes a generated fleet topology to standard output: `cargo run --release -p coffer-spec
//! --example fleet_topology -- 2000 > fleet.yaml` gives 2,000 source accounts, each with a key,
//! a vault with an access policy and a backup plan copying to one central vault. `just bench` times the same files.

/// A topology with `n` source accounts, each with a key, a vault whose policy lets the backup
/// account copy in (restores copy back) and a plan copying to one central vault.
pub fn fleet(n: usize) -> String {
    let mut out = String::from(
        "version: 1\nname: bench\norganization:\n  id: o-benchmark00\n  management_account: management\n  cross_account_backup: enabled\ndefaults:\n  region: eu-west-1\n  role: CofferDeployRole\naccounts:\n  management: {id: \"100000000000\"}\n  backup: {id: \"900000000000\"}\n",
    );
    for i in 0..n {
        out.push_str(&format!(
            "  s{i}: {{id: \"{:012}\"}}\n",
            200_000_000_000u64 + i as u64
        ));
    }
    out.push_str("keys:\n  central: {account: backup, alias: alias/backup/central}\n");
    for i in 0..n {
        out.push_str(&format!(
            "  k{i}: {{account: s{i}, alias: alias/backup/source, usable_by: [backup]}}\n"
        ));
    }
    out.push_str("vaults:\n  central:\n    account: backup\n    name: central\n    key: central\n    access_policy: {organization: true, deny_recovery_point_deletion: true}\n");
    for i in 0..n {
        out.push_str(&format!(
            "  v{i}: {{account: s{i}, name: local, key: k{i}, access_policy: {{allow_copy_from: [backup]}}}}\n"
        ));
    }
    out.push_str("backup_plans:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  p{i}:\n    account: s{i}\n    rules:\n      - name: daily\n        vault: v{i}\n        lifecycle: {{delete_after_days: 35}}\n        copy_to: [{{vault: central, lifecycle: {{delete_after_days: 90}}}}]\n"
        ));
    }
    out
}

#[allow(dead_code)]
fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|arg| arg.replace('_', "").parse().ok())
        .unwrap_or(2000);
    print!("{}", fleet(n));
}
