//! How many read calls may be in flight: globally (`--concurrency`), per account, and per
//! service of an account. AWS's request quotas are per account and Region and per API (KMS's
//! request quotas, AWS Backup's calls per second; throttling beyond them is retried with
//! backoff in the account's own retry partition), so what hides latency is reading many
//! accounts at once, not many calls to one account: the global bound lets a fleet's accounts
//! proceed side by side, and the per-account and per-service bounds keep any one account's
//! rate low, far below its quotas, however large the global bound is.
//!
//! A call takes its service's permit, then its account's, then a global one, always in that
//! order, so no two calls can wait on each other's permits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default global bound (`--concurrency`).
pub const GLOBAL: usize = 256;
/// Calls in flight to one account, all services together.
pub const PER_ACCOUNT: usize = 8;
/// Calls in flight to one service of one account.
pub const PER_SERVICE: usize = 4;

/// The three bounds and the semaphores of the accounts and services seen so far.
#[derive(Debug)]
pub struct Limits {
    global: Arc<Semaphore>,
    per_account: usize,
    per_service: usize,
    accounts: Mutex<BTreeMap<String, Arc<Semaphore>>>,
    services: Mutex<BTreeMap<(String, String), Arc<Semaphore>>>,
}

/// The permits of one call, released when it is dropped.
#[derive(Debug)]
pub struct Permit {
    _permits: [OwnedSemaphorePermit; 3],
}

impl Limits {
    /// `global` calls in flight at most (at least 1), with the default per-account and
    /// per-service bounds (never above the global one).
    pub fn new(global: usize) -> Limits {
        Limits::with(global, PER_ACCOUNT, PER_SERVICE)
    }

    /// Explicit bounds; each at least 1, none above the ones that contain it.
    pub fn with(global: usize, per_account: usize, per_service: usize) -> Limits {
        let global = global.max(1);
        let per_account = per_account.clamp(1, global);
        Limits {
            global: Arc::new(Semaphore::new(global)),
            per_account,
            per_service: per_service.clamp(1, per_account),
            accounts: Mutex::default(),
            services: Mutex::default(),
        }
    }

    /// Waits until a call to `service` in `account` may start.
    pub async fn permit(&self, account: &str, service: &str) -> Permit {
        let service = self.semaphore_of_service(account, service);
        let account = self.semaphore_of_account(account);
        let closed = "a limit's semaphore is never closed";
        let service = service.acquire_owned().await.expect(closed);
        let account = account.acquire_owned().await.expect(closed);
        let global = self.global.clone().acquire_owned().await.expect(closed);
        Permit {
            _permits: [service, account, global],
        }
    }

    fn semaphore_of_account(&self, account: &str) -> Arc<Semaphore> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let size = self.per_account;
        accounts
            .entry(account.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(size)))
            .clone()
    }

    fn semaphore_of_service(&self, account: &str, service: &str) -> Arc<Semaphore> {
        let mut services = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let size = self.per_service;
        services
            .entry((account.to_string(), service.to_string()))
            .or_insert_with(|| Arc::new(Semaphore::new(size)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_bound_holds_calls_back_independently() {
        let limits = Limits::with(3, 2, 1);
        let first = limits.permit("a", "kms").await;
        // The same service of the same account waits; another service of it does not.
        let same = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            limits.permit("a", "kms"),
        );
        assert!(same.await.is_err(), "a second kms call of account a ran");
        let _backup = limits.permit("a", "backup").await;
        // Account a is full (2), account b is not, and the global bound (3) has one left.
        let third = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            limits.permit("a", "rds"),
        );
        assert!(third.await.is_err(), "a third call of account a ran");
        let _other = limits.permit("b", "kms").await;
        let fourth = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            limits.permit("c", "kms"),
        );
        assert!(
            fourth.await.is_err(),
            "a fourth call ran under a global bound of 3"
        );
        drop(first);
        let _again = limits.permit("a", "kms").await;
    }

    #[test]
    fn bounds_are_at_least_one_and_nested() {
        let limits = Limits::with(0, 10, 20);
        assert_eq!((limits.per_account, limits.per_service), (1, 1));
        let limits = Limits::new(64);
        assert_eq!((limits.per_account, limits.per_service), (8, 4));
    }
}
