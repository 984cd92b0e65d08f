//! `*` and `?` wildcards, as IAM matches actions, resources and `...Like` conditions.

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
/// and `?` any one character. Case-sensitive: callers fold case where IAM does.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<usize> = None;
    let mut mark = 0;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `ArnLike` / `ArnEquals`: each of the six colon-separated parts of the ARN is matched on its
/// own, so a `*` never spans a `:` between parts.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| matches(p, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("backup:*", "backup:DeleteRecoveryPoint"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*", ""));
        assert!(!matches("Backup:*", "backup:x"));
    }

    #[test]
    fn arn_parts_are_matched_apart() {
        assert!(arn_matches(
            "arn:aws:iam::*:role/Admin",
            "arn:aws:iam::111222333444:role/Admin"
        ));
        assert!(!arn_matches(
            "arn:aws:iam::*",
            "arn:aws:iam::111222333444:role/Admin"
        ));
        assert!(arn_matches(
            "arn:aws:iam::111222333444:role/*",
            "arn:aws:iam::111222333444:role/path/Admin"
        ));
    }
}
