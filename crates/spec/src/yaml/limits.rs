//! The budget: how much YAML Coffer reads, and sizes in messages.

use super::shorten;

/// How much YAML Coffer reads, against hostile or runaway files (alias bombs, deep nesting,
/// generated files gone wrong). The defaults fit topologies far larger than any seen; the
/// environment variables named by the `ENV_*` constants raise them
/// ([`Limits::from_env`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file in bytes, and of all its text values together.
    pub max_bytes: usize,
    /// YAML values per MiB of file, and at least this many in any file: every scalar, list
    /// and mapping counts as one ([`Limits::nodes_for`]). Aliases may repeat no more values
    /// than the file may hold.
    pub max_nodes: usize,
    /// Nesting of lists and mappings.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 8 * 1024 * 1024,
            max_nodes: 200_000,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Raises (or lowers) [`Limits::max_bytes`].
    pub const ENV_BYTES: &'static str = "COFFER_MAX_FILE_BYTES";
    /// Raises (or lowers) [`Limits::max_nodes`].
    pub const ENV_NODES: &'static str = "COFFER_MAX_YAML_VALUES";
    /// Raises (or lowers) [`Limits::max_depth`].
    pub const ENV_DEPTH: &'static str = "COFFER_MAX_YAML_DEPTH";

    /// The most YAML values a file of `len` bytes may hold: [`Limits::max_nodes`] per MiB,
    /// and at least [`Limits::max_nodes`]. A generated topology of thousands of accounts
    /// reads whole, while an alias bomb, whose few bytes would expand to millions of values,
    /// is refused after a few hundred thousand.
    pub fn nodes_for(&self, len: usize) -> usize {
        const MIB: u128 = 1024 * 1024;
        let scaled = self.max_nodes as u128 * len as u128 / MIB;
        usize::try_from(scaled)
            .unwrap_or(usize::MAX)
            .max(self.max_nodes)
    }

    /// The defaults, with each limit whose environment variable is set replaced by its value.
    /// `Err` names the variable whose value is not a positive whole number.
    pub fn from_env() -> Result<Limits, String> {
        Limits::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Limits::from_env`] with the variables looked up by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        let mut limits = Limits::default();
        for (name, slot) in [
            (Limits::ENV_BYTES, &mut limits.max_bytes),
            (Limits::ENV_NODES, &mut limits.max_nodes),
            (Limits::ENV_DEPTH, &mut limits.max_depth),
        ] {
            let Some(text) = lookup(name) else { continue };
            let digits: String = text.trim().chars().filter(|c| *c != '_').collect();
            match digits.parse::<usize>() {
                Ok(value) if value > 0 => *slot = value,
                _ => {
                    return Err(format!(
                        "{name} must be a positive whole number, found `{}`",
                        shorten(&text)
                    ));
                }
            }
        }
        Ok(limits)
    }
}

/// `n` bytes as people read sizes: `512 bytes`, `8 MiB`, `12.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    let scaled = |unit: u64, name: &str| {
        if n.is_multiple_of(unit) {
            format!("{} {name}", n / unit)
        } else {
            format!("{:.1} {name}", n as f64 / unit as f64)
        }
    };
    if n >= MIB {
        scaled(MIB, "MiB")
    } else if n >= KIB {
        scaled(KIB, "KiB")
    } else {
        format!("{n} bytes")
    }
}

/// `n` bytes for a message: `8 MiB (8388608 bytes)`, or `100 bytes`.
pub fn bytes_exact(n: u64) -> String {
    let human = human_bytes(n);
    if human == format!("{n} bytes") {
        human
    } else {
        format!("{human} ({n} bytes)")
    }
}
