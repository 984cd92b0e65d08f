//! RDS: the databases the region's selections name, whether they exist and how they are
//! encrypted, with their key when Coffer does not read it already.

use coffer_planner::live::{KeyManager, LiveKey, LiveSource};

use super::{RegionReader, Wanted, all_or_errors, each};
use crate::error::AwsError;

const CLUSTER: &str = "rds-cluster";

/// What RDS says of a database that exists.
struct Database {
    encrypted: bool,
    kms_key_arn: Option<String>,
    /// A Multi-AZ DB cluster (not Aurora).
    multi_az_cluster: bool,
}

impl RegionReader {
    pub(super) async fn sources(
        &self,
        wanted: &Wanted,
        known_keys: &[LiveKey],
    ) -> Result<Vec<LiveSource>, Vec<AwsError>> {
        let (sources, errors) = each(&wanted.sources, |arn| async move {
            self.source(arn, known_keys).await.map(Some)
        })
        .await;
        all_or_errors(sources, errors)
    }

    async fn source(&self, arn: &str, known_keys: &[LiveKey]) -> Result<LiveSource, AwsError> {
        let kind = coffer_planner::checks::rds_kind(arn).unwrap_or("rds-instance");
        let name = arn.rsplit(':').next().unwrap_or_default();
        let mut source = LiveSource {
            arn: arn.to_string(),
            kind: kind.to_string(),
            ..LiveSource::default()
        };
        let database = if kind == CLUSTER {
            self.cluster(name).await?
        } else {
            self.instance(name).await?
        };
        if let Some(database) = database {
            source.exists = true;
            source.encrypted = database.encrypted;
            source.kms_key_arn = database.kms_key_arn;
            source.multi_az_cluster = database.multi_az_cluster;
        }
        if let Some(key_ref) = &source.kms_key_arn {
            source.key = self.source_key(key_ref, known_keys).await?;
        }
        Ok(source)
    }

    async fn cluster(&self, name: &str) -> Result<Option<Database>, AwsError> {
        let request = self.clients.rds.describe_db_clusters();
        let request = request.db_cluster_identifier(name).send();
        let absent = ["DBClusterNotFoundFault"];
        let found = self
            .found("rds:DescribeDBClusters", request, &absent)
            .await?;
        let cluster = found.as_ref().and_then(|out| out.db_clusters().first());
        Ok(cluster.map(|cluster| {
            let aurora = cluster.engine().is_some_and(|e| e.starts_with("aurora"));
            Database {
                encrypted: cluster.storage_encrypted().unwrap_or(false),
                kms_key_arn: cluster.kms_key_id().map(str::to_string),
                multi_az_cluster: !aurora && cluster.db_cluster_instance_class().is_some(),
            }
        }))
    }

    async fn instance(&self, name: &str) -> Result<Option<Database>, AwsError> {
        let request = self.clients.rds.describe_db_instances();
        let request = request.db_instance_identifier(name).send();
        let absent = ["DBInstanceNotFound", "DBInstanceNotFoundFault"];
        let found = self
            .found("rds:DescribeDBInstances", request, &absent)
            .await?;
        Ok(found
            .as_ref()
            .and_then(|out| out.db_instances().first())
            .map(|instance| Database {
                encrypted: instance.storage_encrypted().unwrap_or(false),
                kms_key_arn: instance.kms_key_id().map(str::to_string),
                multi_az_cluster: false,
            }))
    }

    /// The key that encrypts a source, when the region's read of keys did not include it.
    async fn source_key(
        &self,
        key_ref: &str,
        known_keys: &[LiveKey],
    ) -> Result<Option<LiveKey>, AwsError> {
        if known_keys
            .iter()
            .any(|k| k.arn == key_ref || k.key_id == key_ref)
        {
            return Ok(None);
        }
        let request = self.clients.kms.describe_key().key_id(key_ref).send();
        // An alias that does not exist yet, or a key in another account Coffer cannot read.
        let absent = ["NotFoundException", "AccessDeniedException"];
        let described = self.found("kms:DescribeKey", request, &absent).await?;
        let Some(metadata) = described.as_ref().and_then(|d| d.key_metadata()) else {
            return Ok(None);
        };
        if known_keys.iter().any(|k| k.key_id == metadata.key_id()) {
            return Ok(None);
        }
        let key_manager = metadata
            .key_manager()
            .map(|m| KeyManager::parse(m.as_str()));
        let policy = if key_manager == Some(KeyManager::Customer) {
            // A policy Coffer may not read leaves the key's policy unknown.
            self.key_policy(metadata.key_id()).await.ok().flatten()
        } else {
            None
        };
        Ok(Some(LiveKey {
            key_id: metadata.key_id().to_string(),
            arn: metadata.arn().unwrap_or_default().to_string(),
            description: metadata.description().unwrap_or_default().to_string(),
            key_state: super::key_state(metadata),
            key_manager: key_manager.unwrap_or_default(),
            policy,
            ..LiveKey::default()
        }))
    }
}
