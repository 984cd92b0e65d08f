//! `fleet_live N DIR [--drift]`: writes a generated fleet of N source accounts as
//! `DIR/topology.yaml` (the topology of `crates/spec/examples/fleet_topology.rs`) and its live
//! state as `DIR/live.json`, in the format `coffer plan --live-in` reads: in sync with the
//! topology (the plan is empty), or with `--drift` drifted in every tenth source account.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let drift = args.iter().any(|a| a == "--drift");
    let mut rest = args.iter().filter(|a| *a != "--drift");
    let n = rest
        .next()
        .and_then(|n| n.replace('_', "").parse::<usize>().ok());
    let dir = rest.next().map(PathBuf::from);
    let (Some(n), Some(dir)) = (n, dir) else {
        eprintln!(
            "error: fleet_live needs a number of accounts and a directory\n  help: fleet_live 10000 fleet-dir [--drift]"
        );
        return ExitCode::from(2);
    };
    let Some((topology, live)) = coffer_fuzz::fleet::files(n, drift) else {
        eprintln!("error: the generated fleet of {n} accounts does not load");
        return ExitCode::FAILURE;
    };
    let write = |name: &str, text: &str| {
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), text))
    };
    if let Err(err) = write("topology.yaml", &topology).and_then(|()| write("live.json", &live)) {
        eprintln!("error: cannot write to {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    println!(
        "{}: topology.yaml ({} bytes), live.json ({} bytes)",
        dir.display(),
        topology.len(),
        live.len()
    );
    ExitCode::SUCCESS
}
