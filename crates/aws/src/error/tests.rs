//! The errors' texts and retry classes.
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
    assert!(
        error.message.ends_with(
            "(dispatch failure: other: failed to load credentials: no credentials found in chain)"
        ),
        "{}",
        error.message
    );
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
