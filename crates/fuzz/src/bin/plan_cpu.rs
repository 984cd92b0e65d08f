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

/// A fleet written to a temporary directory, and what its plans cost so far.
struct Fleet {
    accounts: usize,
    state: State,
    resources: usize,
    live_bytes: usize,
    dir: PathBuf,
    /// Plans per round: enough to spend [`ROUND_CPU`], one when one plan spends it.
    per_round: u32,
    runs: u32,
    /// The mean CPU of one plan in the cheapest round so far.
    least: Duration,
}

impl Fleet {
    fn write(accounts: usize, state: State) -> Result<Fleet, String> {
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
        Ok(Fleet {
            accounts,
            state,
            resources,
            live_bytes: live.len(),
            dir,
            per_round: 1,
            runs: 0,
            least: Duration::MAX,
        })
    }

    /// One plan, not counted: it sizes the rounds and warms the caches.
    fn warm_up(&mut self, coffer: &Path, tps: u64) -> Result<(), String> {
        let first = plan_once(coffer, &self.dir, self.state, tps)?;
        let per_round = (ROUND_CPU.as_secs_f64() / first.as_secs_f64().max(1e-3)).ceil() as u32;
        self.per_round = per_round.clamp(1, 1000);
        self.runs += 1;
        Ok(())
    }

    fn round(&mut self, coffer: &Path, tps: u64) -> Result<(), String> {
        let mut spent = Duration::ZERO;
        for _ in 0..self.per_round {
            spent += plan_once(coffer, &self.dir, self.state, tps)?;
        }
        self.runs += self.per_round;
        self.least = self.least.min(spent / self.per_round);
        Ok(())
    }

    fn row(&self) -> Row {
        Row {
            accounts: self.accounts,
            state: self.state,
            resources: self.resources,
            live_bytes: self.live_bytes,
            runs: self.runs,
            cpu: self.least,
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Plans each size of `state`'s fleets in [`ROUNDS`] rounds, the sizes taking turns so the
/// machine's other work falls on all of them alike; the CPU of one plan is the mean of the
/// cheapest round. That work only ever adds CPU to a round (page reclaim, cache misses), and
/// a round of several small plans is long enough for the clock's ticks.
fn measure(coffer: &Path, sizes: &[usize], state: State, tps: u64) -> Result<Vec<Row>, String> {
    let mut fleets = sizes
        .iter()
        .map(|&accounts| Fleet::write(accounts, state))
        .collect::<Result<Vec<_>, _>>()?;
    for fleet in &mut fleets {
        fleet.warm_up(coffer, tps)?;
    }
    for _ in 0..ROUNDS {
        for fleet in &mut fleets {
            fleet.round(coffer, tps)?;
        }
    }
    Ok(fleets.iter().map(Fleet::row).collect())
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
        let measured = match measure(&coffer, &sizes, state, tps) {
            Ok(measured) => measured,
            Err(problem) => {
                eprintln!("error: {problem}");
                return ExitCode::FAILURE;
            }
        };
        for r in measured {
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
