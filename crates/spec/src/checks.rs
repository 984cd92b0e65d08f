//! The stable IDs of Coffer's checks catalog. The catalog itself (severity, rationale,
//! sources, fixes and the live checks) is in `coffer_planner::checks`; the IDs live here so
//! the validator can tag the diagnostics that are the static form of a check.

macro_rules! ids {
    ($($name:ident = $id:literal;)*) => {
        $( pub const $name: &str = $id; )*
        /// Every check ID, in order.
        pub const ALL: &[&str] = &[$($id),*];
    };
}

ids! {
    ACCOUNTS_IN_ORGANIZATION = "CB001";
    CROSS_ACCOUNT_BACKUP_ENABLED = "CB002";
    DESTINATION_NOT_DEFAULT_VAULT = "CB003";
    DESTINATION_CUSTOMER_KEY = "CB004";
    DESTINATION_ALLOWS_SOURCE = "CB005";
    DESTINATION_NO_DENY = "CB006";
    VAULT_POLICY_NO_OPEN_PRINCIPAL = "CB007";
    VAULT_POLICY_NO_WILDCARD_ACTION = "CB008";
    VAULT_POLICY_NO_FOREIGN_DELETE = "CB009";
    NO_ORPHANED_PRINCIPALS = "CB010";
    KEY_ENABLED = "CB011";
    KEY_NOT_PENDING_DELETION = "CB012";
    COPY_LIFECYCLE_IN_LOCK = "CB013";
    BACKUP_LIFECYCLE_IN_LOCK = "CB014";
    COMPLIANCE_LOCK_NOT_FOREVER = "CB015";
    KEY_ROTATION_ON = "CB016";
    BACKUP_KEY_NOT_SHARED_BACK = "CB017";
    KEY_NO_OPEN_PRINCIPAL = "CB018";
    KEY_STAYS_MANAGEABLE = "CB019";
    SOURCE_EXISTS = "CB020";
    SOURCE_ENCRYPTED = "CB021";
    SOURCE_KEY_CUSTOMER_MANAGED = "CB022";
    SOURCE_KEY_SHARED_WITH_DESTINATION = "CB023";
    NO_MULTI_AZ_CLUSTER_COPY = "CB024";
    UNCHECKED_RESOURCES = "CB025";
    RESTORE_PATH_COPY_BACK = "CB026";
    DESTINATION_VAULT_EXISTS = "CB027";
    CROSS_REGION_AND_ACCOUNT_RDS = "CB028";
    LOCK_IMMUTABLE = "CB029";
    ORGANIZATION_DECLARED = "CB030";
    SERVICE_ROLE_TRUSTS_BACKUP = "CB031";
    ONE_KEY_PER_KEY = "CB032";
}
