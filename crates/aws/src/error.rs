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
            "account `source` (111222333444), eu-west-1, kms:ListKeys: AccessDeniedException: not authorized (request ID abc-123; as role arn:aws:iam::111222333444:role/CofferDeployRole)"
        );
        let throttled = AwsError {
            code: Some("ThrottlingException".into()),
            request_id: None,
            ..error.clone()
        };
        assert_eq!(
            throttled.to_string(),
            "account `source` (111222333444), eu-west-1, kms:ListKeys: ThrottlingException: not authorized"
        );
        let _ = error.source();
    }

    fn call(name: &str) -> Call {
        Call {
            account_name: "production".into(),
            account_id: "111222333444".into(),
            role_arn: "arn:aws:iam::111222333444:role/MissingRole".into(),
            region: "-".into(),
            call: name.into(),
            endpoint: None,
        }
    }

    /// The credentials provider's report when the AssumeRole could not even be sent.
    fn refused_assume_role()
    -> SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, ()> {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        );
        let assume_role: SdkError<AssumeRoleError, ()> =
            SdkError::dispatch_failure(aws_sdk_sts::error::ConnectorError::io(Box::new(refused)));
        SdkError::dispatch_failure(aws_sdk_sts::error::ConnectorError::other(
            Box::new(LoadingCredentials(assume_role)),
            None,
        ))
    }

    #[test]
    fn unreachable_endpoint_is_named_and_not_blamed_on_the_role() {
        let error = call("sts:GetCallerIdentity")
            .endpoint(Some("http://127.0.0.1:9"))
            .sdk_error(refused_assume_role());
        assert!(error.is_unreachable());
        assert!(!error.retryable);
        assert_eq!(error.call, "sts:AssumeRole");
        assert_eq!(
            error.message,
            "cannot reach the AWS endpoint http://127.0.0.1:9 (connection refused)"
        );
        assert!(!error.to_string().contains("trust policy"), "{error}");

        let error = call("kms:ListKeys").sdk_error(refused_assume_role());
        assert!(error.is_unreachable());
        assert!(
            error
                .message
                .starts_with("cannot reach AWS (connection refused)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn unknown_hosts_are_unreachable_too() {
        let err: SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, ()> =
            SdkError::dispatch_failure(aws_sdk_sts::error::ConnectorError::io(
                "client error (Connect): dns error: failed to lookup address information: Name or service not known".into(),
            ));
        let error = call("sts:GetCallerIdentity")
            .endpoint(Some("http://emulator.invalid:5000"))
            .sdk_error(err);
        assert_eq!(
            error.message,
            "cannot reach the AWS endpoint http://emulator.invalid:5000 (host name not found)"
        );
    }

    fn metadata(code: &str, message: &str) -> aws_sdk_sts::error::ErrorMetadata {
        aws_sdk_sts::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .custom("aws_request_id", "req-1")
            .build()
    }

    /// What the credentials provider reports when STS refuses the AssumeRole (aws-config's
    /// `CredentialsError::ProviderError` around the AssumeRole `SdkError`).
    #[derive(Debug)]
    struct LoadingCredentials(SdkError<AssumeRoleError, ()>);

    impl fmt::Display for LoadingCredentials {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an error occurred while loading credentials")
        }
    }

    impl std::error::Error for LoadingCredentials {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn denied_assume_role_names_role_account_and_sts_answer() {
        let denied = "User: arn:aws:iam::100200300400:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111222333444:role/MissingRole";
        let assume_role = SdkError::service_error(
            AssumeRoleError::generic(metadata("AccessDenied", denied)),
            (),
        );
        let err: SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, ()> =
            SdkError::dispatch_failure(aws_sdk_sts::error::ConnectorError::other(
                Box::new(LoadingCredentials(assume_role)),
                None,
            ));
        let error = call("sts:GetCallerIdentity").sdk_error(err);
        assert_eq!(error.call, "sts:AssumeRole");
        assert_eq!(error.code.as_deref(), Some("AccessDenied"));
        assert_eq!(error.request_id.as_deref(), Some("req-1"));
        assert!(!error.retryable);
        assert_eq!(
            error.to_string(),
            format!(
                "account `production` (111222333444), -, sts:AssumeRole: AccessDenied: cannot assume role arn:aws:iam::111222333444:role/MissingRole in account 111222333444 (production): check the role's trust policy, and that the base credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO login) are valid and may call sts:AssumeRole ({denied}) (request ID req-1)"
            )
        );
    }

    #[test]
    fn credentials_failure_without_sts_answer_keeps_the_cause() {
        let err: SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, ()> =
            SdkError::dispatch_failure(aws_sdk_sts::error::ConnectorError::other(
                "failed to load credentials: no credentials found in chain".into(),
                None,
            ));
        let error = call("sts:GetCallerIdentity").sdk_error(err);
        assert_eq!(
            (error.call.as_str(), error.code.as_deref()),
            ("sts:AssumeRole", Some("AssumeRoleFailed"))
        );
        assert!(error.message.starts_with("cannot assume role arn:aws:iam::111222333444:role/MissingRole in account 111222333444 (production): check the role's trust policy"));
        assert!(error.message.ends_with("(dispatch failure: other: failed to load credentials: no credentials found in chain)"), "{}", error.message);
    }

    /// A KMS `CreateKey` that failed with `status` and, when given, the error `code`.
    fn answered(
        status: u16,
        code: Option<&str>,
    ) -> SdkError<
        aws_sdk_kms::operation::create_key::CreateKeyError,
        aws_smithy_runtime_api::http::Response,
    > {
        let mut meta = aws_sdk_kms::error::ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("a valid status"),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(
            aws_sdk_kms::operation::create_key::CreateKeyError::generic(meta.build()),
            raw,
        )
    }

    #[test]
    fn server_failures_are_transient_for_steps() {
        for (status, code) in [
            (500, None),
            (500, Some("InternalFailure")),
            (503, Some("ServiceUnavailable")),
            (503, None),
            (502, None),
            (504, None),
        ] {
            let error = call("kms:CreateKey").step_error(answered(status, code));
            assert!(error.retryable, "{status} {code:?} should be retried");
            assert_eq!(error.code.as_deref(), code);
        }
        // The common error codes are transient whatever status carried them.
        for code in ["InternalFailure", "ServiceUnavailable"] {
            assert!(
                call("kms:CreateKey")
                    .sdk_error(answered(500, Some(code)))
                    .retryable
            );
        }
    }

    #[test]
    fn client_errors_without_a_transient_code_are_not_retried() {
        for (status, code) in [
            (400, Some("ValidationException")),
            (404, None),
            (403, Some("AccessDeniedException")),
        ] {
            let error = call("kms:CreateKey").step_error(answered(status, code));
            assert!(!error.retryable, "{status} {code:?} must not be retried");
        }
    }

    #[test]
    fn service_errors_that_mention_assume_role_are_the_services_own() {
        let message = "User: arn:aws:sts::111222333444:assumed-role/CofferDeployRole/coffer is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111222333444:role/Other";
        let err = SdkError::service_error(
            aws_sdk_kms::operation::list_keys::ListKeysError::generic(metadata(
                "AccessDeniedException",
                message,
            )),
            (),
        );
        let error = call("kms:ListKeys").sdk_error(err);
        assert_eq!(error.call, "kms:ListKeys");
        assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(error.message, message);
    }
}
