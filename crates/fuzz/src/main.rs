//! `coffer-fuzz [CASES] [--seed N] [--kind topology|live|both] [--threads N]
//! [--case-limit SECS] [--budget SECS] [--save DIR]`: runs CASES generated topology files
//! and CASES generated live states (default 1,000,000 each) through load, validate and plan,
//! and prints the figures. `--show KIND:INDEX --seed N` prints one case's input. Exit status
//! 1 when a case panicked, hung or was refused without a position.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use coffer_fuzz::{Kind, RunOptions, harness};

/// Printed inputs are cut here (the saved files are whole).
const SHOWN: usize = 20_000;

struct Args {
    options: RunOptions,
    kinds: Vec<Kind>,
    show: Option<(Kind, u64)>,
}

fn number(value: Option<String>, what: &str) -> Result<u64, String> {
    let value = value.ok_or(format!("{what} needs a value"))?;
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{what}: `{value}` is not a whole number"))
}

fn kind(name: &str) -> Result<Vec<Kind>, String> {
    match name {
        "topology" => Ok(vec![Kind::Topology]),
        "live" => Ok(vec![Kind::Live]),
        "both" => Ok(vec![Kind::Topology, Kind::Live]),
        _ => Err(format!("--kind: `{name}` is not topology, live or both")),
    }
}

fn parse() -> Result<Args, String> {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut options = RunOptions {
        seed: clock % 1_000_000_007,
        cases: 1_000_000,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        case_limit: Duration::from_secs(60),
        budget: Duration::from_secs(4 * 3600),
        save_dir: Some(PathBuf::from("target/fuzz-failures")),
        progress: Some(Duration::from_secs(30)),
    };
    let (mut kinds, mut show) = (vec![Kind::Topology, Kind::Live], None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => options.seed = number(args.next(), "--seed")?,
            "--threads" => options.threads = number(args.next(), "--threads")? as usize,
            "--case-limit" => {
                options.case_limit = Duration::from_secs(number(args.next(), "--case-limit")?)
            }
            "--budget" => options.budget = Duration::from_secs(number(args.next(), "--budget")?),
            "--save" => options.save_dir = args.next().map(PathBuf::from),
            "--kind" => kinds = kind(&args.next().unwrap_or_default())?,
            "--show" => {
                let value = args.next().unwrap_or_default();
                let (name, index) = value
                    .split_once(':')
                    .ok_or("--show takes KIND:INDEX, e.g. topology:42")?;
                show = Some((kind(name)?[0], number(Some(index.to_string()), "--show")?));
            }
            _ => options.cases = number(Some(arg), "CASES")?,
        }
    }
    Ok(Args {
        options,
        kinds,
        show,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!(
                "error: {problem}\n  help: coffer-fuzz [CASES] [--seed N] [--kind topology|live|both] [--threads N] [--case-limit SECS] [--budget SECS] [--save DIR] [--show KIND:INDEX]"
            );
            return ExitCode::from(2);
        }
    };
    if let Some((kind, index)) = args.show {
        print!("{}", harness::show(kind, args.options.seed, index));
        return ExitCode::SUCCESS;
    }
    let options = &args.options;
    println!(
        "seed {} ({} cases of each kind, {} threads, {:?} per case, budget {:?}; reproduce with --seed {})",
        options.seed,
        options.cases,
        options.threads,
        options.case_limit,
        options.budget,
        options.seed
    );
    let mut failed = false;
    for &kind in &args.kinds {
        let report = harness::run(kind, options);
        for failure in &report.failures {
            let input: String = failure.input.chars().take(SHOWN).collect();
            println!(
                "FAILURE {} case {} (seed {}): {}\n{input}\nsaved: {:?}\n",
                kind.name(),
                failure.index,
                options.seed,
                failure.what,
                failure.saved
            );
        }
        println!("{}", report.summary());
        failed |= !report.failures.is_empty() || report.hangs > 0;
        if report.hangs > 0 {
            // The hung thread cannot be stopped: end the process.
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
