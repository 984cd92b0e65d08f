//! Coffer's AWS side: sessions per account (assume role), reading the live state, and the
//! SDK-backed executor. Business rules live in the planner; this crate only talks to AWS.

mod connect;
pub mod drill;
pub mod error;
pub mod execute;
pub mod iam;
pub mod lock;
pub mod log;
pub mod propagation;
pub mod read;
pub mod service_roles;
pub mod session;
pub mod sets;

pub use error::{AwsError, ReadErrors};
pub use execute::SdkExecutor;
pub use read::read;
pub use session::{ConnectOptions, DEFAULT_READ_TIMEOUT, Sessions};

/// Now, in Unix seconds.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
