//! Errors that name the account, role, region and call, with AWS's code, message and
//! request ID.

use std::fmt;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use coffer_spec::Account;

/// An AWS call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AwsError {
    pub account_name: String,
    pub account_id: String,
    pub role_arn: String,
    pub region: String,
    /// `service:Operation`, e.g. `backup:ListBackupVaults`.
    pub call: String,
    /// AWS's error code, e.g. `AccessDeniedException`.
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    /// Whether retrying later may succeed (throttling, eventual consistency, timeouts).
    pub retryable: bool,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account `{}` ({}), {}, {}: ",
            self.account_name, self.account_id, self.region, self.call
        )?;
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request ID {id})")?;
        }
        Ok(())
    }
}

/// Error codes AWS documents as transient.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailableException",
    "InternalFailureException",
    "KMSInternalException",
    "DependencyTimeoutException",
];

/// Where a call went; turns SDK errors into [`AwsError`]s.
#[derive(Debug, Clone)]
pub struct Call {
    account_name: String,
    account_id: String,
    role_arn: String,
    region: String,
    call: String,
}

impl Call {
    pub fn new(account: &Account, region: &str, call: &str) -> Call {
        Call {
            account_name: account.name.to_string(),
            account_id: account.id.clone(),
            role_arn: account.role_arn.clone(),
            region: region.to_string(),
            call: call.to_string(),
        }
    }

    pub fn message(&self, message: String) -> AwsError {
        AwsError {
            account_name: self.account_name.clone(),
            account_id: self.account_id.clone(),
            role_arn: self.role_arn.clone(),
            region: self.region.clone(),
            call: self.call.clone(),
            code: None,
            message,
            request_id: None,
            retryable: false,
        }
    }

    pub fn sdk_error<E, R>(&self, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let mut error = self.message(String::new());
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                error.code = inner.code().map(str::to_string);
                error.message = inner
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| inner.to_string());
                error.request_id = inner.meta().extra("aws_request_id").map(str::to_string);
                error.retryable = error
                    .code
                    .as_deref()
                    .is_some_and(|c| RETRYABLE_CODES.contains(&c));
            }
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
                error.message = chain(&err);
                error.retryable = true;
            }
            SdkError::DispatchFailure(failure) => {
                error.message = chain(&err);
                error.retryable = failure.is_io() || failure.is_timeout();
            }
            _ => error.message = chain(&err),
        }
        if is_credentials_failure(&error.message) {
            error.code = Some("AssumeRoleFailed".to_string());
            error.message = format!(
                "cannot assume role {} in account {} ({}): check the base credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO login), the role's trust policy, and that the base credentials may call sts:AssumeRole ({})",
                self.role_arn, self.account_id, self.account_name, error.message
            );
            error.retryable = false;
        }
        error
    }
}

fn is_credentials_failure(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("failed to load credentials")
        || lower.contains("loading credentials")
        || lower.contains("credentials provider")
        || lower.contains("assumerole")
        || lower.contains("assume role")
}

/// The error and its sources, joined.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}

/// Every failure of one read: reads go on in the other accounts and regions, so one missing
/// permission does not hide the rest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading live state failed in {} places:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ReadErrors(pub Vec<AwsError>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_names_account_region_call_and_request() {
        let error = AwsError {
            account_name: "source".into(),
            account_id: "111222333444".into(),
            role_arn: "arn:aws:iam::111222333444:role/CofferDeployRole".into(),
            region: "eu-west-1".into(),
            call: "kms:ListKeys".into(),
            code: Some("AccessDeniedException".into()),
            message: "not authorized".into(),
            request_id: Some("abc-123".into()),
            retryable: false,
        };
        assert_eq!(
            error.to_string(),
            "account `source` (111222333444), eu-west-1, kms:ListKeys: AccessDeniedException: not authorized (request ID abc-123)"
        );
        let _ = error.source();
    }
}
