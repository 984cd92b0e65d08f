//! Diagnostic logging to stderr: off unless asked for with `COFFER_LOG` or `-v`.
//!
//! - `-v` logs Coffer's own `info` lines, `-vv` adds `debug` (one line per AWS call with
//!   account, Region, operation, duration and retries), `-vvv` adds `trace`.
//! - `COFFER_LOG` takes a level (`debug`) or `tracing` filter directives
//!   (`debug,aws_smithy_runtime=debug`) and wins over `-v`. A level without a target applies
//!   to Coffer's crates only; the AWS SDK and the HTTP stack stay at `warn` unless a
//!   directive names them, because their debug and trace lines describe requests in detail.
//!
//! Coffer's own lines never carry credentials.

use tracing_subscriber::EnvFilter;

/// The environment variable with the filter.
pub const ENV: &str = "COFFER_LOG";

/// Coffer's crates, which a bare level applies to.
const COFFER_TARGETS: &[&str] = &[
    "coffer",
    "coffer_aws",
    "coffer_apply",
    "coffer_planner",
    "coffer_spec",
    "coffer_policy",
];

/// Everything else (the AWS SDK, hyper, rustls, …) logs from `warn` up unless named.
const OTHERS: &str = "warn";

/// The filter directives for `COFFER_LOG` (when set and not empty) or `-v` counted
/// `verbose` times; `None` when logging is off.
pub fn directives(env: Option<&str>, verbose: u8) -> Option<String> {
    let requested = match env.map(str::trim).filter(|e| !e.is_empty()) {
        Some(value) => value.to_string(),
        None => match verbose {
            0 => return None,
            1 => "info".to_string(),
            2 => "debug".to_string(),
            _ => "trace".to_string(),
        },
    };
    let mut out = vec![OTHERS.to_string()];
    for directive in requested
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if is_level(directive) {
            out.extend(COFFER_TARGETS.iter().map(|t| format!("{t}={directive}")));
        } else {
            out.push(directive.to_string());
        }
    }
    Some(out.join(","))
}

fn is_level(directive: &str) -> bool {
    matches!(
        directive.to_ascii_lowercase().as_str(),
        "off" | "error" | "warn" | "info" | "debug" | "trace"
    )
}

/// Installs the stderr subscriber when logging is asked for. A filter that does not parse
/// is reported and logging stays off.
pub fn init(verbose: u8) {
    let env = std::env::var(ENV).ok();
    let Some(directives) = directives(env.as_deref(), verbose) else {
        return;
    };
    let filter = match EnvFilter::builder().parse(&directives) {
        Ok(filter) => filter,
        Err(err) => {
            eprintln!(
                "warning: {ENV}: cannot read `{directives}` as a log filter ({err}); logging is off"
            );
            return;
        }
    };
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_asked() {
        assert_eq!(directives(None, 0), None);
        assert_eq!(directives(Some("  "), 0), None);
    }

    #[test]
    fn levels_apply_to_coffer_only() {
        let d = directives(Some("debug"), 0).expect("on");
        assert!(d.starts_with("warn,coffer=debug,coffer_aws=debug"), "{d}");
        assert!(!d.contains("aws_smithy"), "{d}");
        assert_eq!(directives(None, 1), directives(Some("info"), 0));
        assert_eq!(directives(None, 2), directives(Some("debug"), 0));
        assert_eq!(directives(None, 5), directives(Some("trace"), 0));
    }

    #[test]
    fn env_wins_and_named_targets_pass_through() {
        let d = directives(Some("info,aws_smithy_runtime=debug"), 3).expect("on");
        assert!(d.contains("coffer_aws=info"), "{d}");
        assert!(d.ends_with(",aws_smithy_runtime=debug"), "{d}");
        assert!(!d.contains("trace"), "{d}");
        for directive in d.split(',') {
            EnvFilter::builder()
                .parse(directive)
                .unwrap_or_else(|e| panic!("{directive}: {e}"));
        }
    }
}
