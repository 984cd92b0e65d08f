//! One log line per AWS call, at `debug` under the target `coffer_aws::call`: the account, the
//! Region, the operation (`kms:ListKeys`), how long it took with its retries, how many
//! retries it needed, the HTTP status and whether it succeeded. An SDK interceptor on every
//! client of a session ([`CallLog`]) writes them; the AssumeRole calls, which the SDK makes
//! inside the credentials provider, are logged by [`LoggedCredentials`].
//!
//! Nothing here logs a request or a response: no header, body or credential reaches a line.
//! The SDK's own tracing (`aws_smithy_runtime`, `aws_sigv4`, …) is a separate matter that
//! the CLI keeps at `warn` unless it is asked for by name.

use std::time::{Duration, Instant};

use aws_credential_types::provider::{ProvideCredentials, future};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// The tracing target of the per-call lines.
pub const TARGET: &str = "coffer_aws::call";

/// Logs every call of the client it is added to (`config::Builder::interceptor`).
#[derive(Clone, Debug)]
pub struct CallLog {
    account_id: String,
    region: String,
}

impl CallLog {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> CallLog {
        CallLog {
            account_id: account_id.into(),
            region: region.into(),
        }
    }
}

/// When the call started (kept in the call's config bag between the two hooks).
#[derive(Clone, Copy, Debug)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// `kms:ListKeys` from the SDK's operation metadata (`KMS`, `ListKeys`).
fn operation_name(metadata: Option<&Metadata>) -> String {
    match metadata {
        Some(m) => format!(
            "{}:{}",
            m.service().to_ascii_lowercase().replace(' ', ""),
            m.name()
        ),
        None => "unknown".to_string(),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CofferCallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let duration_ms = cfg.load::<Started>().map_or(0, |s| millis(s.0.elapsed()));
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        let operation = operation_name(cfg.load::<Metadata>());
        let status = context.response().map(|r| r.status().as_u16());
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => "ok",
            Some(Err(_)) | None => "error",
        };
        tracing::debug!(
            target: TARGET,
            account = %self.account_id,
            region = %self.region,
            operation = %operation,
            duration_ms,
            retries = attempts.saturating_sub(1),
            status = %status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            outcome = %outcome,
            "aws call"
        );
        Ok(())
    }
}

/// A credentials provider that logs each call of the provider it wraps (the AssumeRole of an
/// account's session) like [`CallLog`] does, without the credentials. Retries inside the
/// provider's own STS client are not visible here; `retries` is not given.
#[derive(Debug)]
pub struct LoggedCredentials<P> {
    inner: P,
    account_id: String,
    region: String,
    operation: &'static str,
}

impl<P> LoggedCredentials<P> {
    pub fn new(
        inner: P,
        account_id: impl Into<String>,
        region: impl Into<String>,
        operation: &'static str,
    ) -> LoggedCredentials<P> {
        LoggedCredentials {
            inner,
            account_id: account_id.into(),
            region: region.into(),
            operation,
        }
    }
}

impl<P: ProvideCredentials> ProvideCredentials for LoggedCredentials<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let started = Instant::now();
            let result = self.inner.provide_credentials().await;
            tracing::debug!(
                target: TARGET,
                account = %self.account_id,
                region = %self.region,
                operation = %self.operation,
                duration_ms = millis(started.elapsed()),
                outcome = %if result.is_ok() { "ok" } else { "error" },
                "aws call"
            );
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_call_is_logged_with_account_region_operation_duration_and_retries() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        // Nothing listens on the discard port: the call fails after its retries.
        let config = aws_sdk_kms::Config::builder()
            .behavior_version(crate::session::behavior_version())
            .region(aws_sdk_kms::config::Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                Some("SESSIONTOKENEXAMPLE".into()),
                None,
                "test",
            ))
            .retry_config(
                aws_sdk_kms::config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .interceptor(CallLog::new("111122223333", "eu-west-1"))
            .build();
        let client = aws_sdk_kms::Client::from_conf(config);
        let result = client.list_keys().send().await;
        assert!(result.is_err(), "nothing listens on 127.0.0.1:9");

        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        let line = text
            .lines()
            .find(|l| l.contains("aws call"))
            .unwrap_or_else(|| panic!("no call line in:\n{text}"));
        for field in [
            "account=111122223333",
            "region=eu-west-1",
            "operation=kms:ListKeys",
            "duration_ms=",
            "retries=1",
            "outcome=error",
        ] {
            assert!(line.contains(field), "`{field}` missing from: {line}");
        }
        for secret in ["wJalrXUtnFEMI", "SESSIONTOKENEXAMPLE"] {
            assert!(!text.contains(secret), "a credential was logged:\n{text}");
        }
    }
}
