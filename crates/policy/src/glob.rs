//! `*` and `?` wildcards, as IAM matches actions, resources and `...Like` conditions.

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
/// and `?` any one character. Case-sensitive: callers fold case where IAM does.
pub fn matches(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return matches_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_units(&p, &t, '*', '?')
}

/// [`matches`] over units (bytes of ASCII text, or characters), with one star to return to.
fn matches_units<T: PartialEq>(p: &[T], t: &[T], star_unit: T, any: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<usize> = None;
    let mut mark = 0;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_unit {
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
    while pi < p.len() && p[pi] == star_unit {
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
        assert!(matches(
            "backup:CopyIntoBackupVault",
            "backup:CopyIntoBackupVault"
        ));
        assert!(!matches("backup:Copy", "backup:CopyIntoBackupVault"));
        // Characters outside ASCII are one unit each, as IAM counts them.
        assert!(matches("caf?", "café"));
        assert!(matches("*é*", "café au lait"));
        assert!(!matches("caf??", "café"));
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    /// The definition, by recursion over characters: slow, obviously right.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, _) => t.is_empty(),
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some(_), None) => false,
            (Some(&c), Some(&d)) => (c == '?' || c == d) && reference(&p[1..], &t[1..]),
        }
    }

    proptest! {
        #[test]
        fn matches_as_the_definition(pattern in "[ab*?é:]{0,8}", text in "[abé:]{0,8}") {
            let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
            prop_assert_eq!(super::matches(&pattern, &text), reference(&p, &t));
        }
    }
}
