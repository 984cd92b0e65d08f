//! One session per account: base credentials from the standard AWS chain, then AssumeRole
//! into the account's role. One credentials provider and one identity cache per account feed
//! every client of that account, so a run assumes each role once; each (service, region,
//! account) gets its own retry partition, so one throttled account does not spend the others'
//! retry budget. What cannot change within a run (the account the role lands in, the
//! account's organization) is learnt once per session: the account from the AssumeRole answer
//! itself (no `sts:GetCallerIdentity`), the organization from the management account's
//! `organizations:ListAccounts` (see `crate::read`). Every client of every account sends its
//! calls through one HTTP client, so a run keeps one pool of connections (at most as many as
//! calls in flight) instead of one pool, and one TLS handshake at least, per account, service and
//! region.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_backup::config::retry::RetryPartition;
use aws_sdk_kms::config::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder as HttpClientBuilder, ConnectorBuilder, proxy::ProxyConfig};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use coffer_spec::{Account, Topology};
use tokio::sync::{Mutex, OnceCell};

use crate::connect::{AssumeRole, Landing};
use crate::error::{AwsError, Call};
use crate::log::{CallLog, LoggedCredentials};

/// The behavior version every client is built with. Pinned so an SDK upgrade cannot change
/// retries or timeouts silently.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// How long an attempt waits for the first byte of its answer unless told otherwise (the AWS
/// CLI's `--cli-read-timeout` default). An attempt that waits longer fails as a timeout, which
/// is retried like any transient failure, so an endpoint that accepts a call and never answers
/// cannot hold a run forever.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The SDK's connect timeout (its default for this behavior version), set with the read timeout
/// because a timeout configuration given to the loader replaces the defaults it leaves unset.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Send every call here instead of AWS (the local emulator). `AWS_ENDPOINT_URL` is honoured
    /// by the standard chain when this is unset.
    pub endpoint_url: Option<String>,
    /// Region for STS calls; defaults to the account's first region.
    pub sts_region: Option<String>,
    /// Maximum attempts per call (throttling and transient errors are retried with backoff).
    pub max_attempts: Option<u32>,
    /// How long an attempt waits for the first byte of its answer ([`DEFAULT_READ_TIMEOUT`]
    /// when unset).
    pub read_timeout: Option<Duration>,
    /// Assume this role (name, optionally with a path) in every account instead of the
    /// topology's.
    pub role_name: Option<String>,
}

/// The clients of one account in one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub account_id: String,
    pub region: String,
    /// The endpoint every call goes to when it is not AWS's own (`--endpoint-url`).
    pub endpoint: Option<String>,
    pub kms: aws_sdk_kms::Client,
    pub backup: aws_sdk_backup::Client,
    pub rds: aws_sdk_rds::Client,
    /// The Resource Groups Tagging API (`tag:GetResources`).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
}

/// An account's session: its assumed-role configuration and its clients per region.
#[derive(Debug)]
pub struct AccountSession {
    pub account: Account,
    config: SdkConfig,
    /// `config` with the adaptive retry mode, for the reads' clients (see [`AccountSession::reads`]).
    read_config: SdkConfig,
    /// The provider behind every client's credentials (assumes the role once).
    credentials: SharedCredentialsProvider,
    /// The account the assumed role's credentials belong to.
    landing: Landing,
    clients: Mutex<BTreeMap<String, RegionClients>>,
    read_clients: Mutex<BTreeMap<String, RegionClients>>,
    /// The answer of [`AccountSession::verify`], once asked.
    verified: OnceCell<Result<(), AwsError>>,
    /// The account's organization, once read (see [`AccountSession::organization`]).
    organization: OnceCell<Option<Option<String>>>,
    /// The organization's members as its management account lists them, once read (see
    /// [`AccountSession::members`]).
    members: OnceCell<Result<Members, AwsError>>,
}

/// An organization and its member accounts, as `organizations:DescribeOrganization` and
/// every page of `organizations:ListAccounts` in its management account give them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Members {
    pub organization_id: String,
    /// Every account of the organization, whatever its state, by account ID.
    pub accounts: BTreeMap<String, aws_sdk_organizations::types::Account>,
}

/// A client of the SDK crate `$sdk` for the session `$session`: in `$region` (`None`: the
/// session's own), with the retry partition `$partition`, every call logged ([`CallLog`]);
/// built from the session's configuration, or `$config` when given.
macro_rules! client {
    ($session:expr, $sdk:ident, $region:expr, $partition:expr) => {{
        let session: &AccountSession = $session;
        client!(session, &session.config, $sdk, $region, $partition)
    }};
    ($session:expr, $config:expr, $sdk:ident, $region:expr, $partition:expr) => {{
        let session: &AccountSession = $session;
        let region: Option<&str> = $region;
        let config: &SdkConfig = $config;
        let label = region
            .or(config.region().map(|r| r.as_ref()))
            .unwrap_or("us-east-1");
        $sdk::Client::from_conf(
            $sdk::config::Builder::from(config)
                .region(region.map_or_else(
                    || config.region().cloned(),
                    |r| Some(Region::new(r.to_string())),
                ))
                .retry_partition(RetryPartition::new($partition))
                .interceptor(CallLog::new(&session.account.id, label))
                .build(),
        )
    }};
}

impl AccountSession {
    /// The clients for `region`, built once and shared, with the standard retry mode (the
    /// executor's, the drill's and the lock's calls).
    pub async fn region(&self, region: &str) -> RegionClients {
        self.clients_in(region, &self.clients, &self.config).await
    }

    /// The clients the reads use in `region`: the adaptive retry mode, whose client-side rate
    /// limiter slows an account's reads down once AWS throttles them instead of spending the
    /// retries; writes keep the standard mode, which never delays a first attempt.
    pub async fn reads(&self, region: &str) -> RegionClients {
        self.clients_in(region, &self.read_clients, &self.read_config)
            .await
    }

    async fn clients_in(
        &self,
        region: &str,
        cache: &Mutex<BTreeMap<String, RegionClients>>,
        config: &SdkConfig,
    ) -> RegionClients {
        let mut clients = cache.lock().await;
        let id = &self.account.id;
        let partition = |service: &str| format!("{service}-{region}-{id}");
        clients
            .entry(region.to_string())
            .or_insert_with(|| RegionClients {
                account_id: id.clone(),
                region: region.to_string(),
                endpoint: config.endpoint_url().map(str::to_string),
                kms: client!(self, config, aws_sdk_kms, Some(region), partition("kms")),
                backup: client!(
                    self,
                    config,
                    aws_sdk_backup,
                    Some(region),
                    partition("backup")
                ),
                rds: client!(self, config, aws_sdk_rds, Some(region), partition("rds")),
                tagging: client!(
                    self,
                    config,
                    aws_sdk_resourcegroupstagging,
                    Some(region),
                    partition("tagging")
                ),
            })
            .clone()
    }

    /// The account's Organizations client (a global service, reached through us-east-1).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        let partition = format!("organizations-{}", self.account.id);
        client!(self, aws_sdk_organizations, Some("us-east-1"), partition)
    }

    /// The account's IAM client. IAM is global: it is reached through the session's Region
    /// (the STS Region), and `--endpoint-url` sends it to the same endpoint as every client.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        client!(self, aws_sdk_iam, None, format!("iam-{}", self.account.id))
    }

    /// A call of this account to `region`, for its errors: they name the account, and the
    /// endpoint when it is not AWS's own and could not be reached.
    pub fn call(&self, region: &str, name: &str) -> Call {
        Call::new(&self.account, region, name).endpoint(self.config.endpoint_url())
    }

    /// Checks that the role can be assumed and lands in the expected account: the AssumeRole
    /// answer names the account, so this costs the session's one AssumeRole and no call of
    /// its own; later calls give the same answer.
    pub async fn verify(&self) -> Result<(), AwsError> {
        self.verified.get_or_init(|| self.landed()).await.clone()
    }

    /// The account's organization as `read` gives it, read once per session: membership does
    /// not change while Coffer runs.
    pub(crate) async fn organization<F, R>(&self, read: F) -> Option<Option<String>>
    where
        F: FnOnce() -> R,
        R: Future<Output = Option<Option<String>>>,
    {
        self.organization.get_or_init(read).await.clone()
    }

    /// The organization's members as `read` gives them (in the management account), read
    /// once per session: the fleet's membership and the account sets' members come from the
    /// same listing.
    pub(crate) async fn members<F, R>(&self, read: F) -> Result<Members, AwsError>
    where
        F: FnOnce() -> R,
        R: Future<Output = Result<Members, AwsError>>,
    {
        self.members.get_or_init(read).await.clone()
    }

    /// The role assumed (the session's credentials), and the account STS says they are for.
    async fn landed(&self) -> Result<(), AwsError> {
        let call = self.call("-", "sts:AssumeRole");
        self.credentials
            .provide_credentials()
            .await
            .map_err(|e| call.credentials_error(&e))?;
        match self.landing.landed().await {
            Some(id) if id == self.account.id => Ok(()),
            other => Err(call.message(format!(
                "assuming {} gave credentials for account {}, not {}: check the account ID in the file and the role ARN",
                self.account.role_arn,
                other.as_deref().unwrap_or("(unknown)"),
                self.account.id
            ))),
        }
    }
}

/// Sessions for every account of a topology.
#[derive(Debug, Clone)]
pub struct Sessions {
    accounts: Arc<BTreeMap<String, Arc<AccountSession>>>,
    /// The HTTP client every account's clients send their calls through (one connection pool).
    http_client: SharedHttpClient,
}

/// The HTTPS client the SDK gives each client it builds (rustls with aws-lc, proxies from the
/// environment, the client's connect and read timeouts), built once to be shared: connections to
/// an endpoint are reused by every account's clients, whichever account's credentials sign the
/// call. Its connections belong to the Tokio runtime that opens them, so it is built per
/// [`Sessions::connect`], not once per process.
fn shared_http_client() -> SharedHttpClient {
    HttpClientBuilder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

impl Sessions {
    /// Loads the base credentials and prepares (lazily assumed) sessions for every account.
    pub async fn connect(topology: &Topology, options: &ConnectOptions) -> Sessions {
        Sessions::connect_reusing(topology, options, None).await
    }

    /// [`Sessions::connect`], keeping the sessions of `earlier` (connected with the same
    /// options) for the accounts it has with the same role: one run assumes each role once and
    /// reads the organization once, however many times it connects.
    pub async fn connect_reusing(
        topology: &Topology,
        options: &ConnectOptions,
        earlier: Option<&Sessions>,
    ) -> Sessions {
        let http_client = earlier.map_or_else(shared_http_client, |e| e.http_client.clone());
        let mut loader = aws_config::defaults(behavior_version()).http_client(http_client.clone());
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let retry = |mode: RetryConfig| {
            mode.with_max_attempts(options.max_attempts.unwrap_or(8))
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(20))
        };
        loader = loader.retry_config(retry(RetryConfig::standard()));
        loader = loader.timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(options.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT))
                .build(),
        );
        let fallback_region = topology
            .accounts
            .values()
            .flat_map(|a| a.regions.iter())
            .next()
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_string());
        let sts_region = options.sts_region.clone().unwrap_or(fallback_region);
        loader = loader.region(Region::new(sts_region.clone()));
        let base = loader.load().await;

        let mut accounts = BTreeMap::new();
        for account in topology.accounts.values() {
            let mut account = account.clone();
            if let Some(role) = &options.role_name {
                account.role_arn = format!("arn:aws:iam::{}:role/{role}", account.id);
            }
            let kept = earlier.and_then(|e| e.account(&account.id)).filter(|s| {
                s.account.role_arn == account.role_arn
                    && s.account.external_id == account.external_id
            });
            if let Some(session) = kept {
                accounts.insert(account.id.clone(), session);
                continue;
            }
            // A failure of this AssumeRole fails every call of the account; one that reached
            // nothing (a wrong `--endpoint-url`) fails at once instead of after a minute of
            // retries (see `crate::connect`).
            let assume_role = AssumeRole::new(
                &base,
                Region::new(sts_region.clone()),
                account.role_arn.clone(),
                session_name(&topology.name),
                account.external_id.clone(),
            );
            let landing = assume_role.landing();
            let provider = LoggedCredentials::new(
                assume_role,
                account.id.clone(),
                sts_region.clone(),
                "sts:AssumeRole",
            );
            // The account's own identity cache: one shared by all accounts would evict some
            // accounts' credentials once there are more than its partitions (64), and assume
            // their roles again.
            let credentials = SharedCredentialsProvider::new(provider);
            let config = base
                .to_builder()
                .credentials_provider(credentials.clone())
                .identity_cache(IdentityCache::lazy().build())
                .build();
            let read_config = config
                .to_builder()
                .retry_config(retry(RetryConfig::adaptive()))
                .build();
            accounts.insert(
                account.id.clone(),
                Arc::new(AccountSession {
                    account,
                    config,
                    read_config,
                    credentials,
                    landing,
                    clients: Mutex::new(BTreeMap::new()),
                    read_clients: Mutex::new(BTreeMap::new()),
                    verified: OnceCell::new(),
                    organization: OnceCell::new(),
                    members: OnceCell::new(),
                }),
            );
        }
        Sessions {
            accounts: Arc::new(accounts),
            http_client,
        }
    }

    pub fn account(&self, account_id: &str) -> Option<Arc<AccountSession>> {
        self.accounts.get(account_id).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<AccountSession>> {
        self.accounts.values()
    }
}

/// The AssumeRole session name: `coffer-<topology>`, cut to the 64 characters STS allows
/// (topology names may be 64 characters long themselves).
fn session_name(topology: &str) -> String {
    format!("coffer-{topology}").chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_names_fit_sts_limit_of_64_characters() {
        assert_eq!(super::session_name("seed"), "coffer-seed");
        let long = "t".repeat(64);
        let name = super::session_name(&long);
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("coffer-ttt"));
    }

    use super::*;

    const SEED: &str = include_str!("../../../examples/seed/topology.yaml");

    #[tokio::test]
    async fn sessions_assume_the_topology_role_or_the_override() {
        let topology = coffer_spec::load_str(SEED).topology.expect("seed loads");
        let options = ConnectOptions {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        let sessions = Sessions::connect(&topology, &options).await;
        let source = sessions.account("111222333444").expect("source session");
        assert_eq!(
            source.account.role_arn,
            "arn:aws:iam::111222333444:role/CofferDeployRole"
        );

        let read_only = ConnectOptions {
            role_name: Some("ops/CofferReadRole".into()),
            ..options
        };
        let sessions = Sessions::connect(&topology, &read_only).await;
        let ids: Vec<String> = sessions.all().map(|s| s.account.role_arn.clone()).collect();
        assert_eq!(
            ids,
            vec![
                "arn:aws:iam::100200300400:role/ops/CofferReadRole",
                "arn:aws:iam::111222333444:role/ops/CofferReadRole",
                "arn:aws:iam::666777888999:role/ops/CofferReadRole",
            ]
        );
    }
}
