//! What an apply decides before its first call: the saved plan it reads, the checks it may
//! ignore, the blockers and refusals that stop it (each with its message and help), and the
//! calls it makes.

use std::path::PathBuf;

use coffer_apply::{CannotApply, Options, Request, SavedPlanError, prepare, read_saved};
use coffer_planner::{LiveState, Plan, plan_checked, render, simulate};

mod common;
use common::SEED;

/// The plan of `text` against `live`, with the findings of its checks.
fn fresh(text: &str, live: &LiveState) -> Plan {
    let loaded = coffer_spec::load_str(text);
    let topology = loaded.topology.expect("loads");
    plan_checked(&topology, &loaded.diagnostics, live)
}

fn request(ignore_checks: &[&str], options: Options) -> Request {
    let ids: Vec<String> = ignore_checks.iter().map(|id| id.to_string()).collect();
    Request::new(None, &ids, options).expect("request")
}

/// A file of the test's own in the temporary directory, holding `text`.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("coffer-apply-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The message and help the user sees.
fn shown(err: &CannotApply) -> (String, &'static str) {
    (err.to_string(), err.help())
}

#[test]
fn a_saved_plan_is_read_back_as_written() {
    let written = fresh(SEED, &LiveState::default());
    let file = TempFile::new("plan.json", &render::json(&written));
    assert_eq!(read_saved(&file.0), Ok(written.clone()));
    let request = Request::new(Some(&file.0), &[], Options::default()).expect("request");
    assert_eq!(request.saved, Some(written));
}

#[test]
fn an_unreadable_plan_file_is_refused() {
    let missing = std::env::temp_dir().join("coffer-apply-no-such-plan.json");
    let err = read_saved(&missing).expect_err("missing");
    let (message, help) = shown(&err);
    assert!(
        message.starts_with(&format!(
            "cannot read the plan file {}: ",
            missing.display()
        )),
        "{message}"
    );
    assert_eq!(help, "pass a file written by `coffer plan --out`");

    let file = TempFile::new("not-a-plan.json", "{\"format_version\": 1}");
    let err = Request::new(Some(&file.0), &[], Options::default()).expect_err("not a plan");
    assert!(matches!(err, CannotApply::Unreadable { .. }), "{err:?}");
}

#[test]
fn a_plan_of_another_format_is_refused() {
    let mut other = fresh(SEED, &LiveState::default());
    other.format_version = coffer_planner::FORMAT_VERSION + 1;
    let file = TempFile::new("other-format.json", &render::json(&other));
    let err = read_saved(&file.0).expect_err("other format");
    assert_eq!(
        shown(&err),
        (
            format!(
                "{} has plan format {}, this Coffer reads {}",
                file.0.display(),
                coffer_planner::FORMAT_VERSION + 1,
                coffer_planner::FORMAT_VERSION
            ),
            "make the plan again with this version of Coffer"
        )
    );
}

#[test]
fn ignored_checks_must_be_in_the_catalog() {
    let ids = ["CB005".to_string(), "CB999".to_string(), "nope".to_string()];
    let err = Request::new(None, &ids, Options::default()).expect_err("unknown");
    assert_eq!(
        shown(&err),
        (
            "--ignore-check names no check of the catalog: `CB999`, `nope`".to_string(),
            "use the IDs `coffer check` prints (CB001 to CB030; `coffer check --list` lists them)"
        )
    );
    assert!(Request::new(None, &ids[..1], Options::default()).is_ok());
}

#[test]
fn a_stale_saved_plan_is_refused_with_the_way_forward() {
    let live = LiveState::default();
    let saved = fresh(SEED, &live);
    let with = |saved: Plan| Request {
        saved: Some(saved),
        ..request(&[], Options::default())
    };
    let changed = fresh(&SEED.replace("period_days: 365", "period_days: 180"), &live);
    let err = prepare(&with(saved.clone()), changed).expect_err("stale");
    assert_eq!(err, CannotApply::Stale(SavedPlanError::TopologyChanged));
    assert_eq!(
        shown(&err),
        (
            "the topology file changed since this plan was made".to_string(),
            "review and apply a new plan: `coffer plan --out PLAN.json`"
        )
    );

    let mut applied = live.clone();
    simulate::play(&saved, &mut applied, false);
    let err = prepare(&with(saved.clone()), fresh(SEED, &applied)).expect_err("applied");
    let (message, help) = shown(&err);
    assert!(
        message.starts_with("AWS changed since this plan was made (or the plan was already applied); these resources differ now:\n    "),
        "{message}"
    );
    assert_eq!(
        help,
        "review and apply a new plan: `coffer plan --out PLAN.json`"
    );

    let mut edited = saved.clone();
    edited.steps.pop();
    let err = prepare(&with(edited), saved.clone()).expect_err("edited");
    assert_eq!(err, CannotApply::Stale(SavedPlanError::Edited));
    assert_eq!(
        err.help(),
        "make the plan again with this Coffer: `coffer plan --out PLAN.json`"
    );

    let prepared = prepare(&with(saved.clone()), saved.clone()).expect("unchanged");
    assert_eq!(prepared.plan, saved);
}

#[test]
fn blockers_stop_the_apply_unless_each_check_is_ignored() {
    let broken = SEED.replace("      organization: true\n", "");
    let plan = fresh(&broken, &LiveState::default());
    let blockers: Vec<String> = plan.blockers().map(|f| format!("    {f}")).collect();
    assert!(!blockers.is_empty());
    let err = prepare(&request(&[], Options::default()), plan.clone()).expect_err("blocked");
    assert_eq!(
        shown(&err),
        (
            format!(
                "checks predict that the copy chain would fail:\n{}",
                blockers.join("\n")
            ),
            "fix the topology or AWS as each finding says; to apply anyway, name each check with --ignore-check ID"
        )
    );
    let ids: Vec<&str> = plan.blockers().map(|f| f.check.as_str()).collect();
    assert!(prepare(&request(&ids, Options::default()), plan).is_ok());
}

#[test]
fn changes_the_options_do_not_allow_are_listed() {
    let mut live = LiveState::default();
    simulate::play(&fresh(SEED, &live), &mut live, false);
    let unguarded = fresh(
        &SEED.replace(
            "deny_recovery_point_deletion: true",
            "deny_recovery_point_deletion: false",
        ),
        &live,
    );
    let refusals = coffer_apply::preflight(&unguarded, &Options::default());
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    let err = prepare(&request(&[], Options::default()), unguarded.clone()).expect_err("weakens");
    let listed: Vec<String> = refusals.iter().map(|r| format!("    {r}")).collect();
    assert_eq!(
        shown(&err),
        (
            format!("this plan cannot be applied:\n{}", listed.join("\n")),
            "resolve the blocked changes, or confirm irreversible ones with --confirm-irreversible"
        )
    );
    let allowed = Options {
        allow_weaken: true,
        ..Options::default()
    };
    assert!(prepare(&request(&[], allowed), unguarded).is_ok());
}

#[test]
fn deletions_wait_for_allow_delete_and_are_not_counted_as_calls() {
    let empty = LiveState::default();
    let first = fresh(SEED, &empty);
    let prepared = prepare(&request(&[], Options::default()), first.clone()).expect("first");
    assert_eq!(prepared.calls(), first.steps.len());
    assert_eq!(prepared.deletions(), 0);

    let mut live = empty.clone();
    simulate::play(&first, &mut live, false);
    let smaller = SEED.replace("    selections:\n      - name: orders-db\n        role: service-default\n        resources:\n          - arn:aws:rds:eu-west-1:111222333444:db:orders\n", "");
    let plan = fresh(&smaller, &live);
    let waiting = prepare(&request(&[], Options::default()), plan.clone()).expect("waits");
    assert_eq!((waiting.calls(), waiting.deletions()), (0, 1));
    let allowed = Options {
        allow_delete: true,
        ..Options::default()
    };
    let deleting = prepare(&request(&[], allowed), plan).expect("deletes");
    assert_eq!((deleting.calls(), deleting.deletions()), (1, 1));
}
