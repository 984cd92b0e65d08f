//! How the executor reads AWS's answers: which failures the apply retries, which "already
//! exists" and "not found" answers count as done, and what a refusal says. Each test runs the
//! executor's code for an operation against SDK clients whose HTTP answers are canned
//! (`support`), in the order the operation must make its calls: a call not expected next
//! fails the test, and so does an answer left unused.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use coffer_apply::StepError;
use coffer_aws::session::{RegionClients, behavior_version};
use coffer_planner::{Operation, Outputs, Ref, TAG_ID, TAG_TOPOLOGY, outputs};
use coffer_spec::{Account, AccountName};
use serde_json::{Value, json};
use support::{Canned, Exchange, REQUEST_ID};

const ACCOUNT_ID: &str = "111122223333";
const REGION: &str = "eu-west-1";
const ROLE: &str = "arn:aws:iam::111122223333:role/CofferDeployRole";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn account() -> Account {
    Account {
        name: AccountName("production".into()),
        id: ACCOUNT_ID.into(),
        role_arn: ROLE.into(),
        external_id: None,
        regions: BTreeSet::from([REGION.to_string()]),
    }
}

/// A client of the SDK crate `$sdk` whose HTTP calls `$canned` answers. The SDK's own
/// retries are off: what is tested is how Coffer classifies the answer the SDK gives up on.
macro_rules! client {
    ($sdk:ident, $canned:expr) => {{
        let credentials =
            $sdk::config::Credentials::new("AKIDEXAMPLE", "SECRET", None, None, "test");
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(behavior_version())
                .region($sdk::config::Region::new(REGION))
                .credentials_provider(credentials)
                .http_client($canned.clone())
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .build(),
        )
    }};
}

/// The calls one operation is expected to make, and their answers.
#[derive(Default)]
struct Calls {
    kms: Vec<Exchange>,
    backup: Vec<Exchange>,
}

impl Calls {
    fn kms(exchanges: impl IntoIterator<Item = Exchange>) -> Calls {
        Calls {
            kms: exchanges.into_iter().collect(),
            ..Calls::default()
        }
    }

    fn backup(exchanges: impl IntoIterator<Item = Exchange>) -> Calls {
        Calls {
            backup: exchanges.into_iter().collect(),
            ..Calls::default()
        }
    }

    /// Runs `operation` in the account's region, then checks that every expected call was
    /// made.
    async fn run(self, operation: Operation) -> Result<BTreeMap<String, String>, StepError> {
        let mut results = self.run_all([operation]).await;
        results.pop().expect("one result")
    }

    /// Runs `operations` one after the other with the same clients, then checks that every
    /// expected call was made.
    async fn run_all(
        self,
        operations: impl IntoIterator<Item = Operation>,
    ) -> Vec<Result<BTreeMap<String, String>, StepError>> {
        let kms = Canned::new(self.kms);
        let backup = Canned::new(self.backup);
        let rds = Canned::new([]);
        let tagging = Canned::new([]);
        let clients = RegionClients {
            account_id: ACCOUNT_ID.into(),
            region: REGION.into(),
            endpoint: None,
            kms: client!(aws_sdk_kms, kms),
            backup: client!(aws_sdk_backup, backup),
            rds: client!(aws_sdk_rds, rds),
            tagging: client!(aws_sdk_resourcegroupstagging, tagging),
        };
        let mut results = Vec::new();
        for operation in operations {
            let earlier = Outputs::new();
            results
                .push(coffer_aws::execute::run(&clients, &account(), &operation, &earlier).await);
        }
        for canned in [kms, backup, rds, tagging] {
            canned.assert_all_made();
        }
        results
    }
}

fn key() -> Ref {
    Ref::Value(KEY_ID.into())
}

fn key_arn() -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{KEY_ID}")
}

/// How `EnableKey` fails when KMS answers `status` with `code`.
async fn enable_key_fails(status: u16, code: &str) -> StepError {
    let calls = Calls::kms([Exchange::json_rpc("EnableKey")
        .with_input(json!({"KeyId": KEY_ID}))
        .fails(status, code, "the answer")]);
    failed(calls.run(Operation::EnableKey { key: key() }).await)
}

/// How tagging a vault fails when AWS Backup answers `status` with `code`.
async fn tag_vault_fails(status: u16, code: &str) -> StepError {
    let calls = Calls::backup([
        Exchange::rest(&format!("POST /tags/{}", vault_arn("central"))).fails(
            status,
            code,
            "the answer",
        ),
    ]);
    failed(calls.run(tag_vault()).await)
}

fn tag_vault() -> Operation {
    Operation::TagResource {
        resource_arn: Ref::Value(vault_arn("central")),
        tags: BTreeMap::from([("team".into(), "storage".into())]),
    }
}

fn failed(result: Result<BTreeMap<String, String>, StepError>) -> StepError {
    result.expect_err("the step fails")
}

// ----- what the apply retries

#[tokio::test]
async fn throttling_is_retried_whether_aws_answers_400_or_429() {
    let kms = enable_key_fails(400, "ThrottlingException").await;
    let backup = tag_vault_fails(429, "ThrottlingException").await;
    for error in [kms, backup] {
        assert!(error.retryable, "{error:?}");
        assert_eq!(error.code.as_deref(), Some("ThrottlingException"));
        assert_eq!(error.request_id.as_deref(), Some(REQUEST_ID));
    }
}

#[tokio::test]
async fn internal_errors_and_unavailable_services_are_retried() {
    let errors = [
        enable_key_fails(500, "KMSInternalException").await,
        enable_key_fails(503, "DependencyTimeoutException").await,
        tag_vault_fails(503, "ServiceUnavailableException").await,
    ];
    for error in errors {
        assert!(error.retryable, "{error:?}");
    }
}

#[tokio::test]
async fn a_request_aws_refuses_as_invalid_is_not_retried() {
    let error = tag_vault_fails(400, "InvalidParameterValueException").await;
    assert!(!error.retryable, "{error:?}");
    assert_eq!(
        error.code.as_deref(),
        Some("InvalidParameterValueException")
    );
}

#[tokio::test]
async fn a_key_kms_does_not_see_yet_is_waited_for() {
    // Right after CreateKey, KMS may not find the key everywhere yet.
    let calls = Calls::kms([Exchange::json_rpc("EnableKeyRotation")
        .with_input(json!({"RotationPeriodInDays": 180}))
        .fails(400, "NotFoundException", "Key does not exist")]);
    let operation = Operation::EnableKeyRotation {
        key: key(),
        period_days: 180,
    };
    assert!(failed(calls.run(operation).await).retryable);
}

// ----- refusals

#[tokio::test]
async fn access_denied_names_the_account_the_role_and_the_call() {
    let denied = format!(
        "User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/CofferDeployRole/coffer-prod is not authorized to perform: kms:CreateKey"
    );
    let calls = Calls::kms([
        Exchange::json_rpc("ListKeys").answers(json!({"Keys": [], "Truncated": false})),
        Exchange::json_rpc("CreateKey").fails(400, "AccessDeniedException", &denied),
    ]);
    let error = failed(calls.run(create_key()).await);
    assert!(!error.retryable);
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
    let role = format!("(request ID req-0001; as role {ROLE})");
    for part in [
        "account `production` (111122223333)",
        REGION,
        "kms:CreateKey: AccessDeniedException",
        &role,
    ] {
        assert!(error.message.contains(part), "`{part}` missing: {error}");
    }
}

// ----- "already exists" counts as done when the resource is Coffer's

fn ownership() -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_TOPOLOGY.to_string(), "seed".to_string()),
        (TAG_ID.to_string(), "vault.central".to_string()),
    ])
}

fn create_vault(name: &str) -> Operation {
    Operation::CreateBackupVault {
        vault_name: name.into(),
        encryption_key_arn: Some(Ref::Value(key_arn())),
        tags: ownership(),
        creator_request_id: "coffer-central".into(),
    }
}

fn vault_arn(name: &str) -> String {
    format!("arn:aws:backup:{REGION}:{ACCOUNT_ID}:backup-vault:{name}")
}

/// A call with `method` on the vault `name`: `PUT` creates it, `GET` describes it, `DELETE`
/// deletes it.
fn vault_call(method: &str, name: &str) -> Exchange {
    Exchange::rest(&format!("{method} /backup-vaults/{name}"))
}

fn already_exists(exchange: Exchange) -> Exchange {
    exchange.fails(400, "AlreadyExistsException", "already exists")
}

/// `CreateBackupVault` of `name` answers "already exists"; the vault is there, tagged
/// `tags`.
fn vault_exists(name: &str, tags: BTreeMap<String, String>) -> Calls {
    Calls::backup([
        already_exists(vault_call("PUT", name)),
        vault_call("GET", name).answers(json!({"BackupVaultArn": vault_arn(name)})),
        Exchange::rest(&format!("GET /tags/{}", vault_arn(name))).answers(json!({"Tags": tags})),
    ])
}

#[tokio::test]
async fn a_vault_that_exists_and_is_coffers_is_adopted_with_its_arn() {
    let outputs = vault_exists("adopted", ownership())
        .run(create_vault("adopted"))
        .await
        .expect("adopted");
    assert_eq!(
        outputs,
        BTreeMap::from([(outputs::ARN.to_string(), vault_arn("adopted"))])
    );
}

#[tokio::test]
async fn a_vault_that_exists_and_is_someone_elses_is_not_adopted() {
    let mut tags = ownership();
    tags.insert(TAG_ID.into(), "vault.other".into());
    let error = failed(
        vault_exists("foreign", tags)
            .run(create_vault("foreign"))
            .await,
    );
    assert_eq!(error.code.as_deref(), Some("AlreadyExistsException"));
    assert!(!error.retryable);
    assert!(
        error.message.contains("backup:CreateBackupVault"),
        "{error}"
    );
}

#[tokio::test]
async fn a_vault_name_held_by_a_deletion_is_waited_for_never_adopted() {
    // Taken, yet not there: AWS has not finished deleting a vault of that name.
    let calls = Calls::backup([
        already_exists(vault_call("PUT", "deleting")),
        vault_call("GET", "deleting").fails(404, "ResourceNotFoundException", "no such vault"),
    ]);
    let error = failed(calls.run(create_vault("deleting")).await);
    assert!(error.retryable);
    assert!(error.message.contains("was just deleted"), "{error}");

    // The vault this apply replaced: its name is waited for, the vault not even looked at.
    let calls = Calls::backup([
        vault_call("DELETE", "replaced").answers(json!({})),
        already_exists(vault_call("PUT", "replaced")),
    ]);
    let deleted = Operation::DeleteBackupVault {
        vault_name: "replaced".into(),
    };
    let results = calls.run_all([deleted, create_vault("replaced")]).await;
    assert_eq!(results[0], Ok(BTreeMap::new()));
    let error = results[1].clone().expect_err("not adopted");
    assert!(error.retryable);
    assert!(error.message.contains("was just deleted"), "{error}");
}

// ----- "not found" on a delete counts as done

#[tokio::test]
async fn deletes_of_what_is_already_gone_are_done() {
    let gone = |exchange: Exchange| exchange.fails(400, "ResourceNotFoundException", "not found");
    let plan_id = || Ref::Value("plan-0001".into());
    let cases = [
        (
            Calls::backup([gone(vault_call("DELETE", "gone"))]),
            Operation::DeleteBackupVault {
                vault_name: "gone".into(),
            },
        ),
        (
            Calls::backup([gone(Exchange::rest(
                "DELETE /backup-vaults/central/access-policy",
            ))]),
            Operation::DeleteBackupVaultAccessPolicy {
                vault_name: "central".into(),
            },
        ),
        (
            Calls::backup([gone(Exchange::rest("DELETE /backup/plans/plan-0001"))]),
            Operation::DeleteBackupPlan { plan_id: plan_id() },
        ),
        (
            Calls::backup([gone(Exchange::rest(
                "DELETE /backup/plans/plan-0001/selections/selection-0001",
            ))]),
            Operation::DeleteBackupSelection {
                plan_id: plan_id(),
                selection_id: "selection-0001".into(),
            },
        ),
        (
            Calls::kms([Exchange::json_rpc("DeleteAlias").fails(
                400,
                "NotFoundException",
                "not found",
            )]),
            Operation::DeleteAlias {
                alias_name: "alias/coffer/central".into(),
            },
        ),
    ];
    for (calls, operation) in cases {
        let name = operation.name();
        assert_eq!(calls.run(operation).await, Ok(BTreeMap::new()), "{name}");
    }
}

#[tokio::test]
async fn a_delete_refused_is_not_done() {
    let calls = Calls::backup([Exchange::rest("DELETE /backup/plans/plan-0001").fails(
        403,
        "AccessDeniedException",
        "not authorized",
    )]);
    let operation = Operation::DeleteBackupPlan {
        plan_id: Ref::Value("plan-0001".into()),
    };
    let error = failed(calls.run(operation).await);
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
    assert!(!error.retryable);
}

#[tokio::test]
async fn scheduling_the_deletion_of_a_key_pending_deletion_is_done() {
    let pending = format!("{} is pending deletion.", key_arn());
    let calls = Calls::kms([Exchange::json_rpc("ScheduleKeyDeletion")
        .with_input(json!({"PendingWindowInDays": 7}))
        .fails(400, "KMSInvalidStateException", &pending)]);
    let operation = Operation::ScheduleKeyDeletion {
        key: key(),
        pending_window_days: 7,
    };
    assert_eq!(calls.run(operation).await, Ok(BTreeMap::new()));
}

// ----- a key Coffer created before is found by its tags, not created twice

fn create_key() -> Operation {
    Operation::CreateKey {
        description: "Coffer: central".into(),
        policy: json!({"Version": "2012-10-17", "Statement": []}),
        tags: ownership(),
    }
}

/// `ListKeys` finds one key, tagged `tags`, in `state` (as KMS names a key state).
fn key_listed(tags: BTreeMap<String, String>, state: &str) -> Vec<Exchange> {
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    let metadata = json!({"KeyId": KEY_ID, "Arn": key_arn(), "KeyState": state});
    vec![
        Exchange::json_rpc("ListKeys")
            .answers(json!({"Keys": [{"KeyId": KEY_ID}], "Truncated": false})),
        Exchange::json_rpc("ListResourceTags")
            .with_input(json!({"KeyId": KEY_ID}))
            .answers(json!({"Tags": tags, "Truncated": false})),
        Exchange::json_rpc("DescribeKey").answers(json!({"KeyMetadata": metadata})),
    ]
}

#[tokio::test]
async fn a_key_that_carries_coffers_tags_is_adopted() {
    let calls = Calls::kms(key_listed(ownership(), "Enabled"));
    let outputs = calls.run(create_key()).await.expect("adopted");
    assert_eq!(
        outputs.get(outputs::KEY_ID).map(String::as_str),
        Some(KEY_ID)
    );
    assert_eq!(outputs.get(outputs::ARN), Some(&key_arn()));
}

#[tokio::test]
async fn a_tagged_key_pending_deletion_is_not_adopted() {
    let mut exchanges = key_listed(ownership(), "PendingDeletion");
    exchanges.push(Exchange::json_rpc("CreateKey").fails(
        400,
        "LimitExceededException",
        "too many keys",
    ));
    let error = failed(Calls::kms(exchanges).run(create_key()).await);
    assert!(error.message.contains("kms:CreateKey"), "{error}");
    assert!(!error.retryable);
}
