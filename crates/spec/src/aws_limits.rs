//! AWS's own naming and value rules, with the numbers from the AWS API models and guides.
//! Each check returns `Err(reason)` with a sentence that names the rule.

/// Lifecycle and lock day limits (`Lifecycle`, `PutBackupVaultLockConfiguration`).
pub const MAX_RETENTION_DAYS: i64 = 36_500;
/// `DeleteAfterDays` must be at least `MoveToColdStorageAfterDays` + 90.
pub const COLD_STORAGE_MINIMUM_DAYS: i64 = 90;
/// `StartWindowMinutes`, when set, is at least 60.
pub const MIN_START_WINDOW_MINUTES: i64 = 60;
/// `StartWindowMinutes` is at most 100 years.
pub const MAX_START_WINDOW_MINUTES: i64 = 52_560_000;
/// At most 5 copy actions per rule.
pub const MAX_COPY_ACTIONS: usize = 5;
/// Key rotation period bounds (`EnableKeyRotation.RotationPeriodInDays`).
pub const ROTATION_DAYS: std::ops::RangeInclusive<u32> = 90..=2560;
/// Default rotation period.
pub const DEFAULT_ROTATION_DAYS: u32 = 365;
/// Deletion waiting period the service accepts (`ScheduleKeyDeletion.PendingWindowInDays`).
pub const DELETION_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
/// Default deletion waiting period.
pub const DEFAULT_DELETION_WINDOW_DAYS: u32 = 30;
/// Compliance-mode grace time bounds (`ChangeableForDays`).
pub const CHANGEABLE_FOR_DAYS: std::ops::RangeInclusive<i64> = 3..=36_500;
/// Continuous (point-in-time) recovery points are kept at most 35 days.
pub const MAX_CONTINUOUS_RETENTION_DAYS: i64 = 35;
/// Selections: at most 500 plain ARNs, or 30 with wildcards.
pub const MAX_SELECTION_ARNS: usize = 500;
pub const MAX_SELECTION_WILDCARD_ARNS: usize = 30;
/// The schedule AWS Backup uses when a rule has none.
pub const DEFAULT_SCHEDULE: &str = "cron(0 5 ? * * *)";
/// The role Coffer assumes when the file names none (the role AWS Organizations creates in
/// accounts it creates).
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";
/// The selection role `service-default` stands for.
pub const SERVICE_DEFAULT_ROLE: &str = "service-role/AWSBackupDefaultServiceRole";

fn is_alnum_or(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || extra.contains(c)
}

/// A 12-digit account ID.
pub fn account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not an AWS account ID: account IDs are exactly 12 digits"
        ))
    }
}

/// An organizational unit ID: `ou-`, 4–32 lowercase letters or digits (the root's), `-`,
/// and 8–32 more.
pub fn organizational_unit_id(id: &str) -> Result<(), String> {
    let lower = |part: &str, min: usize| {
        (min..=32).contains(&part.len())
            && part
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    };
    let parts: Vec<&str> = id.split('-').collect();
    if parts.len() == 3 && parts[0] == "ou" && lower(parts[1], 4) && lower(parts[2], 8) {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not an organizational unit ID: they look like `ou-ab12-11111111`"
        ))
    }
}

/// A region name such as `eu-west-1` or `us-gov-west-1`.
pub fn region(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1]
            .parse::<u8>()
            .is_ok_and(|n| (1..=20).contains(&n));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an AWS region name (like `eu-west-1` or `us-east-2`)"
        ))
    }
}

/// A KMS alias: `alias/` + 1–250 of `[a-zA-Z0-9:/_-]`, not under `alias/aws/`.
pub fn alias(name: &str) -> Result<(), String> {
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(format!("`{name}` does not start with `alias/`"));
    };
    if rest.is_empty() || name.len() > 256 {
        return Err(format!(
            "`{name}` must have 1 to 250 characters after `alias/`"
        ));
    }
    if let Some(bad) = rest.chars().find(|c| !is_alnum_or(*c, ":/_-")) {
        return Err(format!(
            "`{name}` contains `{bad}`: aliases may only use letters, digits, `/`, `_`, `-` and `:`"
        ));
    }
    Ok(())
}

/// The alias prefix AWS reserves for its own keys.
pub fn alias_is_reserved(name: &str) -> bool {
    name.starts_with("alias/aws/")
}

/// A vault name: `^[a-zA-Z0-9\-\_]{2,50}$`.
pub fn vault_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(2..=50).contains(&len) {
        return Err(format!(
            "vault name `{name}` has {}; AWS requires 2 to 50",
            crate::diag::plural(len, "character", "characters")
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_alnum_or(*c, "-_")) {
        return Err(format!(
            "vault name `{name}` contains `{bad}`; AWS allows only letters, digits, `-` and `_`"
        ));
    }
    Ok(())
}

/// A plan, rule or selection name: 1–50 of `[a-zA-Z0-9\-\_\.]`.
pub fn plan_item_name(what: &str, name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(1..=50).contains(&len) {
        return Err(format!(
            "{what} name `{name}` has {}; AWS requires 1 to 50",
            crate::diag::plural(len, "character", "characters")
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_alnum_or(*c, "-_.")) {
        return Err(format!(
            "{what} name `{name}` contains `{bad}`; AWS allows only letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

/// A role name with an optional path (`ops/CofferDeployRole`).
pub fn role_name(name: &str) -> Result<(), String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let valid_base =
        !base.is_empty() && base.len() <= 64 && base.chars().all(|c| is_alnum_or(c, "+=,.@_-"));
    let valid_path = name
        .split('/')
        .all(|part| !part.is_empty() && part.chars().all(|c| is_alnum_or(c, "+=,.@_-")));
    if valid_base && valid_path {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an IAM role name: use 1-64 letters, digits and `+=,.@_-`, optionally after a path such as `ops/`"
        ))
    }
}

/// The parts of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let known_partition = matches!(partition, "aws" | "aws-cn" | "aws-us-gov");
    if scheme != "arn" || !known_partition || service.is_empty() || resource.is_empty() {
        return None;
    }
    Some(Arn {
        partition,
        service,
        region,
        account,
        resource,
    })
}

/// An IAM principal ARN: an account root, role, user, or assumed-role session.
pub fn principal_arn(arn: &str) -> Result<Arn<'_>, String> {
    let invalid = || {
        format!(
            "`{arn}` is not an IAM principal ARN (like `arn:aws:iam::111122223333:role/Admin` or `arn:aws:iam::111122223333:root`)"
        )
    };
    let parsed = parse_arn(arn).ok_or_else(invalid)?;
    let resource_ok = match parsed.service {
        "iam" => {
            parsed.resource == "root"
                || parsed.resource.starts_with("role/")
                || parsed.resource.starts_with("user/")
        }
        "sts" => parsed.resource.starts_with("assumed-role/"),
        _ => false,
    };
    if !parsed.region.is_empty() || account_id(parsed.account).is_err() || !resource_ok {
        return Err(invalid());
    }
    Ok(parsed)
}

/// An organization ID: `o-` + 10–32 lowercase letters or digits.
pub fn organization_id(id: &str) -> Result<(), String> {
    let ok = id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not an organization ID (`o-` followed by 10 to 32 lowercase letters or digits)"
        ))
    }
}

/// An organization path as `aws:PrincipalOrgPaths` takes it: `o-…/r-…/` then OUs, ending in
/// `/`, optionally with a trailing `*`.
pub fn organization_path(path: &str) -> Result<(), String> {
    let invalid = || {
        format!(
            "`{path}` is not an organization path (like `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/`)"
        )
    };
    let trimmed = path.strip_suffix('*').unwrap_or(path);
    let Some(body) = trimmed.strip_suffix('/') else {
        return Err(invalid());
    };
    let segments: Vec<&str> = body.split('/').collect();
    if segments.len() < 2 || organization_id(segments[0]).is_err() {
        return Err(invalid());
    }
    if !segments[1].starts_with("r-") {
        return Err(invalid());
    }
    if segments[2..].iter().any(|s| !s.starts_with("ou-")) {
        return Err(invalid());
    }
    Ok(())
}

/// An IANA time zone name such as `Europe/Paris` or `UTC`.
pub fn timezone(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .split('/')
            .all(|part| !part.is_empty() && part.chars().all(|c| is_alnum_or(c, "_+-")))
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an IANA time zone name (like `Europe/Paris` or `UTC`)"
        ))
    }
}

/// An AWS Backup schedule: `cron(minutes hours day-of-month month day-of-week year)`, at most
/// hourly. `rate(...)` is EventBridge syntax that AWS Backup does not take.
pub fn schedule(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if expr.starts_with("rate(") {
        return Err(format!(
            "`{expr}` is a rate expression; AWS Backup takes only cron expressions"
        ));
    }
    let Some(body) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) else {
        return Err(format!(
            "`{expr}` is not a cron expression: write `cron(minutes hours day-of-month month day-of-week year)`"
        ));
    };
    let fields: Vec<&str> = body.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "`{expr}` has {}; AWS cron expressions have 6: minutes hours day-of-month month day-of-week year",
            crate::diag::plural(fields.len(), "field", "fields")
        ));
    }
    let months = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    if fields[0].parse::<u32>().map_or(true, |m| m > 59) {
        return Err(format!(
            "minutes field `{}` must be a single minute 0-59: AWS Backup runs at most hourly",
            fields[0]
        ));
    }
    cron_field("hours", fields[1], 0, 23, &[], "")?;
    cron_field("day-of-month", fields[2], 1, 31, &[], "?LW")?;
    cron_field("month", fields[3], 1, 12, &months, "")?;
    cron_field("day-of-week", fields[4], 1, 7, &days, "?L#")?;
    cron_field("year", fields[5], 1970, 2199, &[], "")?;
    if (fields[2] == "?") == (fields[4] == "?") {
        return Err(format!(
            "`{expr}`: exactly one of day-of-month and day-of-week must be `?`"
        ));
    }
    Ok(())
}

fn cron_field(
    what: &str,
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    specials: &str,
) -> Result<(), String> {
    let bad = || {
        format!(
            "{what} field `{field}` is not valid: use numbers {min}-{max}, `*`, lists `,`, ranges `-` and steps `/`"
        )
    };
    if field == "?" {
        return if specials.contains('?') {
            Ok(())
        } else {
            Err(format!(
                "`?` is only allowed in day-of-month or day-of-week, not in {what}"
            ))
        };
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(idx) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(min + idx as u32);
        }
        match s.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad()),
        }
    };
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step
            && step.parse::<u32>().map_or(true, |s| s == 0 || s > max)
        {
            return Err(bad());
        }
        if range == "*" {
            continue;
        }
        if specials.contains('L') && (range == "L" || range.ends_with('L')) {
            let base = range.trim_end_matches('L');
            if !base.is_empty() {
                value(base)?;
            }
            continue;
        }
        if specials.contains('W') && range.ends_with('W') {
            value(range.trim_end_matches('W'))?;
            continue;
        }
        if specials.contains('#')
            && let Some((day, nth)) = range.split_once('#')
        {
            value(day)?;
            if nth.parse::<u32>().map_or(true, |n| !(1..=5).contains(&n)) {
                return Err(bad());
            }
            continue;
        }
        match range.split_once('-') {
            Some((lo, hi)) => {
                value(lo)?;
                value(hi)?;
            }
            None => {
                value(range)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        for ok in [
            "cron(0 5 ? * * *)",
            "cron(15 * ? * * *)",
            "cron(0 12 * * ? *)",
            "cron(0 0/12 ? * MON-FRI *)",
            "cron(30 2 L * ? *)",
            "cron(0 3 ? * 6#3 2026-2030)",
        ] {
            assert_eq!(schedule(ok), Ok(()), "{ok}");
        }
        for bad in [
            "rate(1 hour)",
            "0 5 * * *",
            "cron(0 5 * * *)",
            "cron(*/5 * ? * * *)",
            "cron(0 25 ? * * *)",
            "cron(0 5 * * * *)",
            "cron(0 5 ? * ? *)",
            "cron(0 5 ? FOO * *)",
        ] {
            assert!(schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(vault_name("central-vault").is_ok());
        assert!(vault_name("c").is_err());
        assert!(vault_name("has.dot").is_err());
        assert!(plan_item_name("rule", "daily.1").is_ok());
        assert!(alias("alias/coffer/x").is_ok());
        assert!(alias("coffer/x").is_err());
        assert!(alias("alias/a b").is_err());
        assert!(region("eu-west-1").is_ok());
        assert!(region("us-gov-west-1").is_ok());
        assert!(region("eu-west1").is_err());
        assert!(organization_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/").is_ok());
        assert!(organization_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111").is_err());
        assert!(principal_arn("arn:aws:iam::111122223333:role/Admin").is_ok());
        assert!(principal_arn("arn:aws:iam::1111:role/Admin").is_err());
        assert!(role_name("ops/CofferDeployRole").is_ok());
        assert!(role_name("bad role").is_err());
        assert!(timezone("Europe/Paris").is_ok());
        assert!(timezone("paris").is_err());
    }
}
