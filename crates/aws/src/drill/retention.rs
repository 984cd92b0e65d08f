//! How long what the drill makes is kept, and what keeps the drill from deleting it: every
//! recovery point gets the shortest retention its vault's lock allows, and a guarded or locked
//! vault keeps it until then.

use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
use aws_sdk_backup::types::Lifecycle;
use coffer_spec::Vault;
use coffer_spec::diag::plural;

/// The shortest retention, in days, `vault`'s lock allows: its minimum retention when the
/// topology declares one, else 1 day.
pub fn shortest_retention(vault: &Vault) -> i64 {
    vault
        .lock
        .as_ref()
        .and_then(|lock| lock.min_retention_days)
        .map_or(1, |days| days.max(1))
}

/// The lifecycle of what the drill creates in `vault`: its shortest retention, never cold storage.
pub(super) fn drill_lifecycle(vault: &Vault) -> Lifecycle {
    Lifecycle::builder()
        .delete_after_days(shortest_retention(vault))
        .build()
}

/// What keeps the drill from deleting a recovery point it made in `vault`, as the topology
/// declares it: the vault's deletion guard (unless `role_arn` is one of its break-glass
/// principals) and its lock's minimum retention (equal to the drill's retention, so the
/// recovery point can only expire). `None`: nothing declared keeps it.
pub fn deletion_barrier(vault: &Vault, role_arn: &str) -> Option<String> {
    let mut reasons = Vec::new();
    if let Some(policy) = &vault.access_policy
        && policy.deny_recovery_point_deletion
        && !policy.break_glass_principals.iter().any(|p| p == role_arn)
    {
        reasons.push(format!(
            "the deletion guard of vault {} denies backup:DeleteRecoveryPoint",
            vault.vault_name
        ));
    }
    if let Some(days) = vault.lock.as_ref().and_then(|lock| lock.min_retention_days) {
        reasons.push(format!(
            "the vault lock keeps recovery points at least {}",
            plural(days, "day", "days")
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Whether AWS refused a deletion (rather than failed to process it): access denied (a
/// deletion guard) or an invalid request (a locked vault's retention).
pub fn is_refusal(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AccessDeniedException" | "AccessDenied" | "InvalidRequestException")
    )
}

/// `created` plus `days`, in RFC 3339 (to the second).
pub fn expiry(created: &DateTime, days: i64) -> Option<String> {
    DateTime::from_secs(created.secs().checked_add(days.checked_mul(86_400)?)?)
        .fmt(DateTimeFormat::DateTime)
        .ok()
}

#[cfg(test)]
mod tests {
    use coffer_spec::Topology;

    use super::*;
    use crate::drill::tests::seed;

    fn vault<'t>(topology: &'t Topology, name: &str) -> &'t Vault {
        topology
            .vaults
            .values()
            .find(|v| v.name.as_str() == name)
            .expect("vault")
    }

    const COFFER_ROLE: &str = "arn:aws:iam::666777888999:role/CofferDeployRole";

    #[test]
    fn retention_is_the_lock_minimum_else_one_day() {
        let topology = seed(&[]);
        assert_eq!(shortest_retention(vault(&topology, "central")), 7);
        assert_eq!(shortest_retention(vault(&topology, "source")), 1);
        let lifecycle = drill_lifecycle(vault(&topology, "central"));
        assert_eq!(lifecycle.delete_after_days(), Some(7));
        assert_eq!(lifecycle.move_to_cold_storage_after_days(), None);
        // A lock with only a maximum: 1 day.
        let topology = seed(&[("      min_retention_days: 7\n", "")]);
        assert_eq!(shortest_retention(vault(&topology, "central")), 1);
    }

    #[test]
    fn guarded_or_locked_vaults_keep_what_the_drill_makes() {
        let topology = seed(&[]);
        let central = deletion_barrier(vault(&topology, "central"), COFFER_ROLE)
            .expect("the central vault keeps its recovery points");
        assert!(
            central.contains("deletion guard of vault central"),
            "{central}"
        );
        assert!(central.contains("at least 7 days"), "{central}");
        assert_eq!(
            deletion_barrier(
                vault(&topology, "source"),
                "arn:aws:iam::111222333444:role/CofferDeployRole"
            ),
            None
        );
        // Coffer's role as a break-glass principal: only the lock is left.
        let topology = seed(&[(
            "arn:aws:iam::666777888999:role/BreakGlass",
            "arn:aws:iam::666777888999:role/CofferDeployRole",
        )]);
        let central = deletion_barrier(vault(&topology, "central"), COFFER_ROLE).expect("lock");
        assert!(!central.contains("deletion guard"), "{central}");
        assert!(central.contains("vault lock"), "{central}");
    }

    #[test]
    fn access_denied_and_locked_vaults_are_refusals() {
        assert!(is_refusal(Some("AccessDeniedException")));
        assert!(is_refusal(Some("AccessDenied")));
        assert!(is_refusal(Some("InvalidRequestException")));
        assert!(!is_refusal(Some("ResourceNotFoundException")));
        assert!(!is_refusal(Some("ThrottlingException")));
        assert!(!is_refusal(None));
    }

    #[test]
    fn expiry_is_creation_plus_retention_in_rfc3339() {
        // 2024-03-01T10:20:30.5Z
        let created = DateTime::from_secs_and_nanos(1_709_288_430, 500_000_000);
        assert_eq!(expiry(&created, 7).as_deref(), Some("2024-03-08T10:20:30Z"));
        assert_eq!(expiry(&created, 0).as_deref(), Some("2024-03-01T10:20:30Z"));
        assert_eq!(expiry(&created, i64::MAX), None);
    }
}
