//! The organization's cross-account backup setting.

use coffer_planner::{Operation, plan};

use crate::common::*;

#[test]
fn cross_account_backup_turned_off_is_one_update() {
    let (t, mut live) = seed_converged();
    seed_region(&mut live, MANAGEMENT).cross_account_backup = Some(false);
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update cross_account_backup.eu-west-1"]);
    assert!(
        matches!(p.steps[..], [ref s] if s.operation == Operation::UpdateGlobalSettings { cross_account_backup: true })
    );
}
