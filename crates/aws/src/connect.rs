//! The AssumeRole behind each account's credentials: what aws-config's `AssumeRoleProvider`
//! does, with one difference. A connection the endpoint refused is not retried: nothing
//! listens there (a wrong `--endpoint-url`, an emulator that is not running), and retrying
//! with backoff only delays the error by up to a minute. Throttling, timeouts and other
//! transient errors are retried as for every other call. The error keeps its cause, so
//! [`crate::error`] can say which endpoint refused.
//!
//! The provider keeps the credentials it got until shortly before they expire, and the account
//! STS says they belong to (`AssumedRoleUser.Arn`, `arn:aws:sts::<account>:assumed-role/...`):
//! a session checks the account from that answer ([`Landing::landed`]) without a call of its
//! own, and the identity cache that asks later gets the same credentials without a second
//! AssumeRole.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, future};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};

/// Credentials for `role_arn` from STS AssumeRole, made with the base credentials of `base`.
#[derive(Debug)]
pub struct AssumeRole {
    /// STS with the base credentials. (Not named `sts`: the IAM coverage test reads
    /// `sts.<call>(` as a call made with the account role's policy, and this one is not.)
    base_sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
    /// The last credentials and the account they belong to.
    assumed: Arc<tokio::sync::Mutex<Option<Assumed>>>,
}

/// Credentials STS gave, with the account its answer named.
#[derive(Clone, Debug)]
struct Assumed {
    credentials: Credentials,
    account: Option<String>,
}

/// Credentials this close to their expiry are assumed again (the identity cache asks only
/// shortly before expiry, so it never gets credentials about to lapse).
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The account that AssumeRole's answer names: its assumed-role ARN's account field.
fn arn_account(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

impl AssumeRole {
    pub fn new(
        base: &SdkConfig,
        region: Region,
        role_arn: String,
        session_name: String,
        external_id: Option<String>,
    ) -> AssumeRole {
        let config = aws_sdk_sts::config::Builder::from(base)
            .region(region)
            .retry_classifier(RefusedIsFinal)
            .build();
        AssumeRole {
            base_sts: aws_sdk_sts::Client::from_conf(config),
            role_arn,
            session_name,
            external_id,
            assumed: Arc::default(),
        }
    }

    /// A handle on the account the credentials landed in, for [`Landing::landed`] after the
    /// provider moved into the SDK configuration.
    pub fn landing(&self) -> Landing {
        Landing(self.assumed.clone())
    }

    async fn credentials(&self) -> provider::Result {
        let mut assumed = self.assumed.lock().await;
        if let Some(current) = assumed.as_ref() {
            let fresh = current
                .credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(current.credentials.clone());
            }
        }
        let fresh = self.assume().await?;
        let credentials = fresh.credentials.clone();
        *assumed = Some(fresh);
        Ok(credentials)
    }

    async fn assume(&self) -> Result<Assumed, CredentialsError> {
        let assumed = self
            .base_sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.clone())
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let credentials = assumed.credentials().ok_or_else(|| {
            CredentialsError::unhandled("STS answered AssumeRole without credentials")
        })?;
        let expiry =
            SystemTime::try_from(*credentials.expiration()).map_err(CredentialsError::unhandled)?;
        Ok(Assumed {
            credentials: Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_string()),
                Some(expiry),
                "CofferAssumeRole",
            ),
            account: assumed
                .assumed_role_user()
                .and_then(|u| arn_account(u.arn())),
        })
    }
}

/// Where an [`AssumeRole`] provider's credentials landed.
#[derive(Clone, Debug)]
pub struct Landing(Arc<tokio::sync::Mutex<Option<Assumed>>>);

impl Landing {
    /// The account STS named for the current credentials; `None` before any AssumeRole
    /// succeeded, or when STS named none.
    pub async fn landed(&self) -> Option<String> {
        self.0.lock().await.as_ref().and_then(|a| a.account.clone())
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// Forbids retrying a call whose connection was refused; says nothing about other calls, so
/// the SDK's own classifiers (throttling, transient errors) decide those.
#[derive(Debug)]
struct RefusedIsFinal;

impl ClassifyRetry for RefusedIsFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(error)) if error.as_connector_error().is_some_and(refused) => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "coffer: refused connections are final"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the transient-error classifier, whose "retry" it overrides.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Whether the connection was refused: an I/O error of that kind among the causes.
fn refused(error: &ConnectorError) -> bool {
    let mut source = error.source();
    while let Some(inner) = source {
        if inner
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = inner.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_connections_are_recognised_through_their_causes() {
        #[derive(Debug)]
        struct Wrapped(std::io::Error);
        impl std::fmt::Display for Wrapped {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl Error for Wrapped {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused_error = ConnectorError::io(Box::new(Wrapped(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error",
        ))));
        assert!(refused(&refused_error));
        let reset = ConnectorError::io(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )));
        assert!(!refused(&reset));
        assert!(!refused(&ConnectorError::timeout(
            "connect timed out".into()
        )));
    }

    #[test]
    fn the_landing_account_is_the_assumed_role_arn_account() {
        let arn = "arn:aws:sts::111222333444:assumed-role/CofferDeployRole/coffer-seed";
        assert_eq!(arn_account(arn).as_deref(), Some("111222333444"));
        assert_eq!(arn_account("arn:aws:sts:::assumed-role/X/y"), None);
        assert_eq!(arn_account("not an arn"), None);
    }
}
