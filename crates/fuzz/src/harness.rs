//! Runs cases on every core: each case under `catch_unwind`, a watchdog that reports a case
//! running past its time limit as a hang, an overall time budget, and every failing input
//! printed and saved.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use crate::{live_case, topology_case};

/// Which inputs a run generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Topology files through load, validate and plan.
    Topology,
    /// Live states through `--live-in`'s parse and plan.
    Live,
}

impl Kind {
    /// The kind's name in reports and saved files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Topology => "topology",
            Kind::Live => "live",
        }
    }
}

/// What one case came to, short of a panic or a hang.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded (and planned) without errors.
    Accepted,
    /// Refused with errors that each have a position inside the input.
    Rejected,
    /// Refused without a position inside the input (a failure).
    Unpositioned(String),
}

/// A case that failed: a panic, a hang or a rejection without a position.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub index: u64,
    /// What went wrong: the panic message, the hang, the missing position.
    pub what: String,
    /// The input, as printed (both files of a live-state case).
    pub input: String,
    /// Where the input was saved, when it was.
    pub saved: Vec<PathBuf>,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    /// Cases of the kind to run.
    pub cases: u64,
    pub threads: usize,
    /// A case running longer is a hang.
    pub case_limit: Duration,
    /// The run stops (with partial figures) when it takes longer.
    pub budget: Duration,
    /// Where failing inputs are saved; not saved when `None`.
    pub save_dir: Option<PathBuf>,
    /// Print progress to stderr every this often; never when `None`.
    pub progress: Option<Duration>,
}

/// The figures of a run of one kind.
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: Kind,
    pub seed: u64,
    pub cases: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub panics: u64,
    pub hangs: u64,
    pub unpositioned: u64,
    pub failures: Vec<Failure>,
    pub elapsed: Duration,
    /// False when the budget ran out (or a hang stopped the run) before every case ran.
    pub complete: bool,
}

impl Report {
    /// Cases per second of wall time.
    pub fn rate(&self) -> f64 {
        self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line of figures.
    pub fn summary(&self) -> String {
        format!(
            "{}: seed {}, {} cases in {:.1}s ({:.0} cases/s): {} accepted, {} rejected with a position, {} panics, {} hangs, {} rejected without a position{}",
            self.kind.name(),
            self.seed,
            self.cases,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.accepted,
            self.rejected,
            self.panics,
            self.hangs,
            self.unpositioned,
            if self.complete {
                ""
            } else {
                " (stopped early)"
            }
        )
    }
}

/// The generators of one kind, built on each worker thread.
enum Gen {
    Topology(topology_case::Generators),
    Live(live_case::Generators),
}

impl Gen {
    fn new(kind: Kind) -> Gen {
        match kind {
            Kind::Topology => Gen::Topology(topology_case::Generators::new()),
            Kind::Live => Gen::Live(live_case::Generators::new()),
        }
    }

    /// Generates and runs case `index`.
    fn case(&self, seed: u64, index: u64) -> Outcome {
        match self {
            Gen::Topology(g) => g.run(&g.input(seed, index), index),
            Gen::Live(g) => g.run(&g.input(seed, index), index),
        }
    }

    /// The files of case `index`'s input: a name suffix and the text.
    fn files(&self, seed: u64, index: u64) -> Vec<(&'static str, String)> {
        match self {
            Gen::Topology(g) => vec![(".yaml", g.input(seed, index))],
            Gen::Live(g) => {
                let input = g.input(seed, index);
                vec![
                    (".topology.yaml", input.topology),
                    (".live.json", input.live),
                ]
            }
        }
    }
}

/// The input of case `index` of kind `kind` in the run seeded with `seed`, as printed.
pub fn show(kind: Kind, seed: u64, index: u64) -> String {
    printed(kind, &Gen::new(kind).files(seed, index))
}

/// The files of a case's input, each under a `--- NAME` line.
fn printed(kind: Kind, files: &[(&'static str, String)]) -> String {
    files
        .iter()
        .map(|(suffix, text)| format!("--- {}{suffix}\n{text}", kind.name()))
        .collect::<Vec<_>>()
        .join("\n")
}

const IDLE: u64 = u64::MAX;

/// What the workers and the watchdog share.
struct Shared {
    kind: Kind,
    options: RunOptions,
    next: AtomicU64,
    stop: AtomicBool,
    started: Instant,
    /// Per worker: the case it runs and since when (ms since `started`), or [`IDLE`].
    slots: Vec<(AtomicU64, AtomicU64)>,
    counts: [AtomicU64; 5],
    failures: Mutex<Vec<Failure>>,
}

const ACCEPTED: usize = 0;
const REJECTED: usize = 1;
const PANICS: usize = 2;
const UNPOSITIONED: usize = 3;
const DONE: usize = 4;

/// Cases a worker takes at once.
const CHUNK: u64 = 64;

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps panics on fuzzing threads quiet (their message is kept for the report); other
/// threads' panics print as before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(Cell::get) {
                PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Saves and records a failure of case `index`.
    fn fail(&self, cases: &Gen, index: u64, what: String) {
        let files = catch_unwind(AssertUnwindSafe(|| cases.files(self.options.seed, index)))
            .unwrap_or_default();
        let mut saved = Vec::new();
        if let Some(dir) = &self.options.save_dir {
            let _ = std::fs::create_dir_all(dir);
            for (suffix, text) in &files {
                let path = dir.join(format!(
                    "{}-{}-{index}{suffix}",
                    self.kind.name(),
                    self.options.seed
                ));
                if std::fs::write(&path, text).is_ok() {
                    saved.push(path);
                }
            }
        }
        let input = printed(self.kind, &files);
        let failure = Failure {
            kind: self.kind,
            index,
            what,
            input,
            saved,
        };
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(failure);
        }
    }

    /// A worker: takes chunks of cases until none are left or the run stops.
    fn work(&self, slot: usize) {
        install_panic_hook();
        FUZZING.with(|f| f.set(true));
        let cases = Gen::new(self.kind);
        let (current, since) = &self.slots[slot];
        while !self.stop.load(Ordering::Relaxed) {
            let start = self.next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= self.options.cases {
                break;
            }
            let end = (start + CHUNK).min(self.options.cases);
            for index in start..end {
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
                current.store(index, Ordering::Relaxed);
                since.store(self.now_ms(), Ordering::Release);
                let outcome =
                    catch_unwind(AssertUnwindSafe(|| cases.case(self.options.seed, index)));
                since.store(IDLE, Ordering::Release);
                let counter = match outcome {
                    Ok(Outcome::Accepted) => ACCEPTED,
                    Ok(Outcome::Rejected) => REJECTED,
                    Ok(Outcome::Unpositioned(what)) => {
                        self.fail(
                            &cases,
                            index,
                            format!("rejected without a position: {what}"),
                        );
                        UNPOSITIONED
                    }
                    Err(_) => {
                        let message = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                        self.fail(&cases, index, format!("panic: {message}"));
                        PANICS
                    }
                };
                self.counts[counter].fetch_add(1, Ordering::Relaxed);
                self.counts[DONE].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The case that has run past the limit, if any.
    fn hung(&self) -> Option<u64> {
        let now = self.now_ms();
        let limit = self.options.case_limit.as_millis() as u64;
        self.slots.iter().find_map(|(current, since)| {
            let since = since.load(Ordering::Acquire);
            (since != IDLE && now.saturating_sub(since) > limit)
                .then(|| current.load(Ordering::Relaxed))
        })
    }

    fn report(&self, hangs: u64, complete: bool) -> Report {
        let count = |i: usize| self.counts[i].load(Ordering::Relaxed);
        Report {
            kind: self.kind,
            seed: self.options.seed,
            cases: count(DONE),
            accepted: count(ACCEPTED),
            rejected: count(REJECTED),
            panics: count(PANICS),
            hangs,
            unpositioned: count(UNPOSITIONED),
            failures: self.failures.lock().map(|f| f.clone()).unwrap_or_default(),
            elapsed: self.started.elapsed(),
            complete,
        }
    }
}

/// Runs `options.cases` cases of `kind` and reports. A hang stops the run: the hung thread
/// is left behind (it cannot be stopped), the others finish their case.
pub fn run(kind: Kind, options: &RunOptions) -> Report {
    let threads = options.threads.max(1);
    let shared = Arc::new(Shared {
        kind,
        options: options.clone(),
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        started: Instant::now(),
        slots: (0..threads)
            .map(|_| (AtomicU64::new(0), AtomicU64::new(IDLE)))
            .collect(),
        counts: Default::default(),
        failures: Mutex::new(Vec::new()),
    });
    let workers: Vec<_> = (0..threads)
        .map(|slot| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("fuzz-{slot}"))
                // The stack of the `coffer` binary's main thread.
                .stack_size(8 << 20)
                .spawn(move || shared.work(slot))
        })
        .collect();
    let mut last_progress = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(index) = shared.hung() {
            shared.stop.store(true, Ordering::Relaxed);
            let cases = Gen::new(kind);
            let limit = options.case_limit;
            shared.fail(&cases, index, format!("hang: no answer within {limit:?}"));
            return shared.report(1, false);
        }
        if workers
            .iter()
            .all(|w| w.as_ref().map(|w| w.is_finished()).unwrap_or(true))
        {
            break;
        }
        if shared.started.elapsed() > options.budget {
            shared.stop.store(true, Ordering::Relaxed);
        }
        if let Some(every) = options.progress
            && last_progress.elapsed() >= every
        {
            last_progress = Instant::now();
            eprintln!("  so far: {}", shared.report(0, true).summary());
        }
    }
    let complete = shared.counts[DONE].load(Ordering::Relaxed) == options.cases;
    shared.report(0, complete)
}
