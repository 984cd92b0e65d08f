//! A claim on the apply lock, as its vault's tags and creation date say, and how it reads for
//! people: who holds it, since when, until when.

use std::time::{SystemTime, UNIX_EPOCH};

pub(super) use crate::now_secs;

/// Unix seconds as an RFC 3339 UTC timestamp.
fn timestamp(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    aws_sdk_backup::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_backup::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// A span of time, roughly: `42s`, `12m05s`, `3h05m`.
fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `at` relative to `now`: `3m10s ago`, `in 27m`.
fn relative(at: u64, now: u64) -> String {
    if at <= now {
        format!("{} ago", span(now - at))
    } else {
        format!("in {}", span(at - now))
    }
}

/// A new claim's unique ID: `<kind>-<pid>-at-<secs>-<nanos>`.
pub(super) fn new_owner(kind: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{kind}-{}-at-{}-{nanos}", std::process::id(), now_secs())
}

/// Who this process is, for people reading the lock: `user@host pid N`, in the characters
/// AWS allows in tag values.
pub(super) fn holder_name() -> String {
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host} pid {}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect()
}

/// A claim on the apply lock, as its vault's tags and creation date say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The claim's unique ID (`coffer:lock-owner`: process ID and start time); `None` when
    /// the vault does not carry Coffer's lock tags.
    pub owner: Option<String>,
    /// Who made it (`coffer:lock-holder`: `user@host pid N`); claims of older versions of
    /// Coffer do not say.
    pub holder: Option<String>,
    /// When it was made (the vault's creation), in Unix seconds.
    pub since: Option<u64>,
    /// When it expires, in Unix seconds: a later apply breaks it then.
    pub expires: Option<u64>,
    /// When its holder gave it back (`coffer:lock-released`, Unix seconds): the lock is free.
    pub released: Option<u64>,
}

impl Claim {
    /// Whether its expiry has passed (a claim without a readable expiry never expires).
    pub fn expired(&self) -> bool {
        self.expires.is_some_and(|t| t <= now_secs())
    }

    /// Whether the lock is free at `now` (Unix seconds) as far as this claim goes: released,
    /// or expired (a claim without a readable expiry never expires).
    pub fn free_at(&self, now: u64) -> bool {
        self.released.is_some() || self.expires.is_some_and(|t| t <= now)
    }

    /// Who holds it: the holder and the claim ID.
    pub fn who(&self) -> String {
        let owner = self.owner.as_deref().unwrap_or("(no Coffer lock tags)");
        match &self.holder {
            Some(holder) => format!("{holder} ({owner})"),
            None => owner.to_string(),
        }
    }

    /// When it was made, RFC 3339.
    pub fn since_timestamp(&self) -> Option<String> {
        self.since.map(timestamp)
    }

    /// When it expires, RFC 3339.
    pub fn expires_timestamp(&self) -> Option<String> {
        self.expires.map(timestamp)
    }

    /// When it was made, with how long ago: `2025-11-28T10:00:00Z (3m10s ago)`.
    pub fn since_text(&self) -> String {
        self.since.map_or_else(
            || "(unknown)".into(),
            |t| format!("{} ({})", timestamp(t), relative(t, now_secs())),
        )
    }

    /// When it expires, with how long from now: `2025-11-28T10:30:00Z (in 26m50s)`.
    pub fn expires_text(&self) -> String {
        self.expires.map_or_else(
            || "(unknown)".into(),
            |t| {
                let now = now_secs();
                if t < now {
                    format!("{} (expired {} ago)", timestamp(t), span(now - t))
                } else {
                    format!("{} ({})", timestamp(t), relative(t, now))
                }
            },
        )
    }
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, since {}, until {}",
            self.who(),
            self.since_text(),
            self.expires_text()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_for_people() {
        assert_eq!(span(42), "42s");
        assert_eq!(span(725), "12m05s");
        assert_eq!(span(3 * 3600 + 5 * 60 + 9), "3h05m");
        assert_eq!(relative(100, 290), "3m10s ago");
        assert_eq!(relative(1000, 10), "in 16m30s");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        let claim = Claim {
            owner: Some("pid-7-at-0-1".into()),
            holder: Some("alice@ci pid 7".into()),
            since: Some(0),
            expires: Some(1800),
            released: None,
        };
        assert!(claim.expired());
        assert_eq!(claim.who(), "alice@ci pid 7 (pid-7-at-0-1)");
        let shown = claim.to_string();
        assert!(
            shown.starts_with("alice@ci pid 7 (pid-7-at-0-1), since 1970-01-01T00:00:00Z ("),
            "{shown}"
        );
        assert!(
            shown.contains("until 1970-01-01T00:30:00Z (expired "),
            "{shown}"
        );
        let fresh = Claim {
            owner: None,
            holder: None,
            since: None,
            expires: None,
            released: None,
        };
        assert!(!fresh.expired() && !fresh.free_at(u64::MAX));
        assert_eq!(
            fresh.to_string(),
            "(no Coffer lock tags), since (unknown), until (unknown)"
        );
    }

    #[test]
    fn the_holder_is_named_in_characters_tags_allow() {
        let name = holder_name();
        assert!(name.contains('@') && name.contains(" pid "), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c)),
            "{name}"
        );
    }
}
