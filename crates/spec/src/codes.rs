//! Stable diagnostic codes. `E0xx` are shape errors (the file does not fit the format),
//! `E1xx` meaning errors (it fits, but AWS would refuse it or it contradicts itself), `W1xx`
//! warnings (AWS accepts it, but it is likely a mistake).

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal;)*) => {
        $( $(#[doc = $doc])* pub const $name: &str = $code; )*

        /// Every code with its one-line description, in code order.
        pub const ALL: &[(&str, &str)] = &[ $( ($code, concat!($($doc),*)) ),* ];
    };
}

codes! {
    /// The file is not valid YAML (syntax error, duplicate key, too deep or too large).
    SYNTAX = "E001";
    /// A field the format does not know (often a typo).
    UNKNOWN_FIELD = "E002";
    /// A value of the wrong type.
    WRONG_TYPE = "E003";
    /// A required field is missing.
    MISSING_FIELD = "E004";
    /// A number where text is required (account IDs lose leading zeros): quote it.
    NUMBER_FOR_STRING = "E005";
    /// A value outside the allowed set of words.
    UNKNOWN_VALUE = "E006";
    /// An unsupported `version`.
    VERSION = "E007";
    /// A reference to an account, key or vault that the file does not define.
    UNKNOWN_REFERENCE = "E101";
    /// Two resources would get the same name in AWS, or two entries share a name.
    DUPLICATE_NAME = "E102";
    /// A logical or topology name with characters Coffer cannot use.
    INVALID_NAME = "E103";
    /// An account ID that is not 12 digits.
    ACCOUNT_ID = "E104";
    /// An unknown AWS region name.
    REGION = "E105";
    /// A role name or ARN that is not valid.
    ROLE = "E106";
    /// A principal ARN that is not valid.
    PRINCIPAL = "E107";
    /// An organization ID, path or management account that is not valid.
    ORGANIZATION = "E108";
    /// A resource without a region and no `defaults.region`.
    NO_REGION = "E109";
    /// A KMS alias that does not have the form AWS requires.
    ALIAS = "E110";
    /// A KMS alias under the reserved `alias/aws/` prefix.
    ALIAS_RESERVED = "E111";
    /// A key rotation period outside 90–2560 days.
    ROTATION_PERIOD = "E112";
    /// A key deletion window outside 7–30 days.
    DELETION_WINDOW = "E113";
    /// A key `usable_by` its own account.
    USABLE_BY_SELF = "E114";
    /// A raw policy statement that is not valid.
    STATEMENT = "E115";
    /// A vault name that does not match AWS's pattern.
    VAULT_NAME = "E120";
    /// A vault key in another account or region than the vault.
    VAULT_KEY_PLACEMENT = "E121";
    /// A vault lock whose bounds are not valid.
    LOCK_BOUNDS = "E122";
    /// A compliance lock grace time under 3 days (or over 36500).
    LOCK_GRACE = "E123";
    /// A wildcard action in a vault access policy, which AWS rejects.
    POLICY_WILDCARD_ACTION = "E124";
    /// A plan, rule or selection name that does not match AWS's pattern.
    PLAN_NAME = "E130";
    /// A schedule that is not a valid AWS Backup cron expression.
    SCHEDULE = "E131";
    /// A start window under 60 minutes, or a completion window that cannot hold it.
    WINDOW = "E132";
    /// A lifecycle AWS rejects (range, or delete before cold storage + 90 days).
    LIFECYCLE = "E133";
    /// A rule's vault in another account or region than the plan.
    RULE_VAULT_PLACEMENT = "E134";
    /// More than 5 copy actions in one rule.
    TOO_MANY_COPIES = "E135";
    /// A backup or copy lifecycle outside the destination vault's lock bounds.
    LOCK_RETENTION = "E136";
    /// A cross-account copy the destination vault's access policy does not allow.
    COPY_NOT_ALLOWED = "E137";
    /// A continuous backup rule with cold storage or retention over 35 days.
    CONTINUOUS = "E138";
    /// A selection that selects nothing, or with misplaced wildcards.
    SELECTION = "E139";
    /// A cross-account copy while cross-account backup is declared `disabled`.
    CROSS_ACCOUNT_DISABLED = "E140";
    /// A schedule time zone that is not an IANA name.
    TIMEZONE = "E141";
    /// An account set that is not valid: its selector, its template, or its members (an
    /// account two sets select, two members with one name).
    ACCOUNT_SET = "E150";
    /// A copy into a vault in the same account and region as the rule's own vault.
    W_SAME_PLACE_COPY = "W101";
    /// A copy-destination vault's key usable by an account that copies into it (never share
    /// the backup account's key back).
    W_KEY_SHARED_BACK = "W102";
    /// Cross-account copies while the organization or its cross-account switch is not managed.
    W_CROSS_ACCOUNT_UNMANAGED = "W103";
    /// A cross-account copy into a vault encrypted with AWS Backup's default key.
    W_DEFAULT_KEY_DESTINATION = "W104";
    /// A compliance-locked vault receiving recovery points kept forever.
    W_FOREVER_IN_COMPLIANCE = "W105";
}
