//! Errors that name the account, role, region and call, with AWS's code, message and
//! request ID.

use std::fmt;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
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
        let mut notes = Vec::new();
        if let Some(id) = &self.request_id {
            notes.push(format!("request ID {id}"));
        }
        // A refusal is the role's (or a resource policy's answer to it): name the role. A
        // failed AssumeRole names it in its message already.
        if self.is_access_denied() && self.call != "sts:AssumeRole" && !self.role_arn.is_empty() {
            notes.push(format!("as role {}", self.role_arn));
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join("; "))?;
        }
        Ok(())
    }
}

impl AwsError {
    /// AWS refused the call for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            matches!(
                code,
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
            )
        })
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
    // AWS's common errors (HTTP 500 and 503), which any service may answer.
    "InternalFailure",
    "ServiceUnavailable",
    "KMSInternalException",
    "DependencyTimeoutException",
];

/// HTTP statuses of a server-side failure AWS may recover from: an answer with one of them is
/// transient whatever its error code, or without one (a load balancer's answer has none).
const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504];

/// Whether `err` is an answer with a transient HTTP status ([`TRANSIENT_STATUSES`]).
pub fn transient_status<E, R: 'static>(err: &SdkError<E, R>) -> bool {
    let Some(raw) = err.raw_response() else {
        return false;
    };
    let raw: &dyn std::any::Any = raw;
    raw.downcast_ref::<aws_smithy_runtime_api::http::Response>()
        .is_some_and(|response| TRANSIENT_STATUSES.contains(&response.status().as_u16()))
}

/// The code of an [`AwsError`] whose call never reached AWS: nothing answered at the
/// endpoint (connection refused, unknown host, no route). Such calls are not retried for
/// long, and the message names the endpoint instead of blaming a role or a permission.
pub const UNREACHABLE: &str = "EndpointUnreachable";

impl AwsError {
    /// Whether the call never reached AWS (see [`UNREACHABLE`]).
    pub fn is_unreachable(&self) -> bool {
        self.code.as_deref() == Some(UNREACHABLE)
    }
}

/// Where a call went; turns SDK errors into [`AwsError`]s.
#[derive(Debug, Clone)]
pub struct Call {
    account_name: String,
    account_id: String,
    role_arn: String,
    region: String,
    call: String,
    /// The endpoint the call was sent to when it is not AWS's own (`--endpoint-url`).
    endpoint: Option<String>,
}

impl Call {
    pub fn new(account: &Account, region: &str, call: &str) -> Call {
        Call {
            account_name: account.name.to_string(),
            account_id: account.id.clone(),
            role_arn: account.role_arn.clone(),
            region: region.to_string(),
            call: call.to_string(),
            endpoint: None,
        }
    }

    /// The call goes to `endpoint` (`--endpoint-url`, `AWS_ENDPOINT_URL`) when it is set;
    /// errors that never reached it name it.
    pub fn endpoint(mut self, endpoint: Option<&str>) -> Call {
        self.endpoint = endpoint.map(str::to_string);
        self
    }

    /// The account the call acts in.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn region(&self) -> &str {
        &self.region
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

    /// [`Call::sdk_error`], retryable as well when AWS answered with a transient HTTP status
    /// (500, 502, 503, 504), with any error code or none: the answer of a changing call that
    /// may have taken effect, so the step is tried again and finds what it made.
    pub fn step_error<E, R>(&self, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        let transient = transient_status(&err);
        let mut error = self.sdk_error(err);
        error.retryable |= transient;
        error
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
        let dispatch = matches!(err, SdkError::DispatchFailure(_));
        let service = matches!(err, SdkError::ServiceError(_));
        self.explain(error, &err, dispatch, service)
    }

    /// A failure of an account's credentials provider (the AssumeRole behind its session),
    /// said as [`Call::sdk_error`] says one that surfaced through a call.
    pub fn credentials_error(
        &self,
        err: &aws_credential_types::provider::error::CredentialsError,
    ) -> AwsError {
        let mut error = self.message(chain(err));
        error.call = "sts:AssumeRole".to_string();
        self.explain(error, err, true, false)
    }

    /// `error` said plainly when nothing answered or the role could not be assumed.
    fn explain(
        &self,
        mut error: AwsError,
        err: &dyn std::error::Error,
        dispatch: bool,
        service: bool,
    ) -> AwsError {
        // Nothing answered: say so, and where, rather than blame the role's trust policy (the
        // AssumeRole behind the credentials could not be sent either).
        if let (true, Some(reason)) = (dispatch, unreachable_reason(err, &error.message)) {
            if is_credentials_failure(&error.message) {
                error.call = "sts:AssumeRole".to_string();
            }
            error.code = Some(UNREACHABLE.to_string());
            error.retryable = false;
            error.message = match &self.endpoint {
                Some(endpoint) => format!("cannot reach the AWS endpoint {endpoint} ({reason})"),
                None => format!(
                    "cannot reach AWS ({reason}): check the network, and the proxy settings (HTTPS_PROXY) if there is one"
                ),
            };
            return error;
        }
        // Credentials are loaded (the role assumed) before a request is sent, so a failure to
        // assume the role is never the called service's own answer.
        if !service && is_credentials_failure(&error.message) {
            // The failed call is the AssumeRole, whichever call needed the credentials.
            error.call = "sts:AssumeRole".to_string();
            let mut cause = error.message.clone();
            error.code = Some("AssumeRoleFailed".to_string());
            error.retryable = false;
            if let Some(answer) = assume_role_answer(err.source()) {
                // STS answered (e.g. AccessDenied): its code, message and request ID.
                error.code = answer.code().map(str::to_string).or(error.code);
                cause = answer.message().map(str::to_string).unwrap_or(cause);
                error.request_id = answer.meta().extra("aws_request_id").map(str::to_string);
            }
            error.message = format!(
                "cannot assume role {} in account {} ({}): check the role's trust policy, and that the base credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO login) are valid and may call sts:AssumeRole ({cause})",
                self.role_arn, self.account_id, self.account_name
            );
        }
        error
    }
}

/// STS's answer to the AssumeRole behind a credentials failure, found among the error's
/// sources.
fn assume_role_answer<'a>(
    mut source: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a AssumeRoleError> {
    while let Some(inner) = source {
        if let Some(answer) = inner.downcast_ref::<AssumeRoleError>() {
            return Some(answer);
        }
        source = inner.source();
    }
    None
}

/// Why a request could not be sent, when the reason is that nothing answered at the endpoint:
/// the first I/O error among the sources that says so, else the words of the error chain
/// (`message`, as [`chain`] joined it).
fn unreachable_reason(err: &dyn std::error::Error, message: &str) -> Option<&'static str> {
    use std::io::ErrorKind;
    let mut source = err.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return Some("connection refused"),
                ErrorKind::HostUnreachable => return Some("host unreachable"),
                ErrorKind::NetworkUnreachable => return Some("network unreachable"),
                ErrorKind::AddrNotAvailable => return Some("address not available"),
                _ => {}
            }
        }
        source = inner.source();
    }
    let lower = message.to_ascii_lowercase();
    let reasons = [
        ("connection refused", "connection refused"),
        ("dns error", "host name not found"),
        ("failed to lookup address", "host name not found"),
        ("name or service not known", "host name not found"),
        ("no route to host", "no route to host"),
        ("network is unreachable", "network unreachable"),
        ("host is unreachable", "host unreachable"),
    ];
    reasons
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, reason)| *reason)
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
///
/// When no call reached AWS at all (every error is [`AwsError::is_unreachable`] with the same
/// message), that message is the whole error: said once, not once per account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReadErrors(pub Vec<AwsError>);

impl ReadErrors {
    /// The one message of a read that reached nothing, if that is what happened.
    pub fn unreachable(&self) -> Option<&str> {
        let first = self.0.first()?;
        let all_same = self
            .0
            .iter()
            .all(|e| e.is_unreachable() && e.message == first.message);
        all_same.then_some(first.message.as_str())
    }
}

impl fmt::Display for ReadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(message) = self.unreachable() {
            return f.write_str(message);
        }
        write!(
            f,
            "reading live state failed in {}:\n{}",
            coffer_spec::diag::plural(self.0.len(), "place", "places"),
            self.0
                .iter()
                .map(|e| format!("  - {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

#[cfg(test)]
mod tests;
