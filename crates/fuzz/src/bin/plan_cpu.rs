//! Plan CPU per resource (`just bench`): times the CPU (user + system) of `coffer plan
//! --live-in` (the release binary) on generated fleets of 100 and 10,000 source accounts
//! whose saved live state is in sync with the topology (an empty plan), drifted, or empty (the
//! first plan, which creates everything), and prints the CPU per resource and how it grows.
//! Timings are printed, never asserted.
//!
//! `plan_cpu [--coffer PATH] [SIZES...]`; the binary defaults to the `coffer` next to this
//! one (`cargo build --release -p coffer`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

/// The CPU of one round of plans (several plans of the small fleets).
const ROUND_CPU: Duration = Duration::from_millis(500);
/// Rounds per size and state; the cheapest counts.
const ROUNDS: u32 = 5;

/// The CPU time the finished children of this process used (user + system), from
/// `/proc/self/stat`.
fn children_cpu(ticks_per_second: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 16 and 17 (cutime, cstime); the list starts at field 3.
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / ticks_per_second as f64,
    ))
}

fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The saved live state a fleet is planned against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InSync,
    Drifted,
    /// Nothing exists yet: the first plan.
    Empty,
}

impl State {
    const ALL: [State; 3] = [State::InSync, State::Drifted, State::Empty];

    fn name(self) -> &'static str {
        match self {
            State::InSync => "in sync",
            State::Drifted => "drifted",
            State::Empty => "empty",
        }
    }
}

/// One measurement: the fleet, its resources, and the CPU of one plan.
struct Row {
    accounts: usize,
    state: State,
    resources: usize,
    live_bytes: usize,
    runs: u32,
    cpu: Duration,
}

impl Row {
    fn per_resource(&self) -> Duration {
        self.cpu / self.resources.max(1) as u32
    }
}

/// The CPU of one plan of `dir`'s fleet by `coffer`, in `state`.
fn plan_once(coffer: &Path, dir: &Path, state: State, tps: u64) -> Result<Duration, String> {
    let before = children_cpu(tps).ok_or("cannot read /proc/self/stat")?;
    let status = Command::new(coffer)
        .args(["plan", "--detailed-exitcode", "--format", "json", "-f"])
        .arg(dir.join("topology.yaml"))
        .arg("--live-in")
        .arg(dir.join("live.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", coffer.display()))?;
    let after = children_cpu(tps).ok_or("cannot read /proc/self/stat")?;
    let expected = if state == State::InSync { 0 } else { 2 };
    if status.code() != Some(expected) {
        return Err(format!(
            "`coffer plan --detailed-exitcode` on {} exited {status}, not {expected}",
            dir.display()
        ));
    }
    Ok(after.saturating_sub(before))
}

/// Plans `dir`'s fleet with `coffer` in [`ROUNDS`] rounds of enough plans to spend
/// [`ROUND_CPU`] (one plan when one plan spends it); the CPU of one plan is the mean of the
/// cheapest round. The machine's other work only ever adds CPU to a round (page reclaim,
/// cache misses), and a round of several small plans is long enough for the clock's ticks.
fn measure(coffer: &Path, dir: &Path, state: State, tps: u64) -> Result<(u32, Duration), String> {
    let first = plan_once(coffer, dir, state, tps)?;
    let per_round = (ROUND_CPU.as_secs_f64() / first.as_secs_f64().max(1e-3)).ceil() as u32;
    let per_round = per_round.clamp(1, 1000);
    let (mut runs, mut least) = (1u32, Duration::MAX);
    for _ in 0..ROUNDS {
        let mut spent = Duration::ZERO;
        for _ in 0..per_round {
            spent += plan_once(coffer, dir, state, tps)?;
        }
        runs += per_round;
        least = least.min(spent / per_round);
    }
    Ok((runs, least))
}

fn row(coffer: &Path, accounts: usize, state: State, tps: u64) -> Result<Row, String> {
    let (topology, mut live) = coffer_fuzz::fleet::files(accounts, state == State::Drifted)
        .ok_or(format!("the fleet of {accounts} accounts does not load"))?;
    if state == State::Empty {
        live = "{}".to_string();
    }
    let loaded = coffer_spec::load_str(&topology);
    let t = loaded.topology.ok_or("no topology")?;
    let resources = t.keys.len() + t.vaults.len() + t.backup_plans.len();
    let dir = std::env::temp_dir().join(format!(
        "coffer-plan-cpu-{}-{accounts}-{state:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("topology.yaml"), &topology).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("live.json"), &live).map_err(|e| e.to_string())?;
    let measured = measure(coffer, &dir, state, tps);
    let _ = std::fs::remove_dir_all(&dir);
    let (runs, cpu) = measured?;
    Ok(Row {
        accounts,
        state,
        resources,
        live_bytes: live.len(),
        runs,
        cpu,
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    // `cargo build --release -p coffer` puts the binary next to this one.
    let mut coffer = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("coffer")))
        .unwrap_or_else(|| PathBuf::from("target/release/coffer"));
    let mut sizes = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--coffer" => coffer = args.next().map(PathBuf::from).unwrap_or(coffer),
            n => sizes.extend(n.replace('_', "").parse::<usize>().ok()),
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 10_000];
    }
    let tps = ticks_per_second();
    println!(
        "{:<10} {:>8} {:>10} {:>12} {:>5} {:>12} {:>14}",
        "accounts", "state", "resources", "live bytes", "runs", "CPU/plan", "CPU/resource"
    );
    let mut rows = Vec::new();
    for state in State::ALL {
        for &accounts in &sizes {
            match row(&coffer, accounts, state, tps) {
                Ok(r) => {
                    println!(
                        "{:<10} {:>8} {:>10} {:>12} {:>5} {:>12} {:>14}",
                        r.accounts,
                        r.state.name(),
                        r.resources,
                        r.live_bytes,
                        r.runs,
                        format!("{:.1?}", r.cpu),
                        format!("{:.1?}", r.per_resource())
                    );
                    rows.push(r);
                }
                Err(problem) => {
                    eprintln!("error: {problem}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    for state in State::ALL {
        let of = |n: usize| rows.iter().find(|r| r.accounts == n && r.state == state);
        if let (Some(small), Some(large)) = (of(sizes[0]), of(*sizes.last().unwrap_or(&0)))
            && small.accounts != large.accounts
        {
            println!(
                "{}: CPU per resource grows {:.2}x from {} to {} accounts (target: at most 1.3x)",
                state.name(),
                large.per_resource().as_secs_f64() / small.per_resource().as_secs_f64().max(1e-12),
                small.accounts,
                large.accounts
            );
        }
    }
    ExitCode::SUCCESS
}
