//! The `Condition` element: operators, set qualifiers, `...IfExists`, `Null`.
//!
//! A condition block holds when every operator holds; an operator holds when every key under
//! it holds; a key holds when the request's value matches any of the policy's values (for a
//! negated operator: matches none of them). A key the request does not carry makes a positive
//! operator false and a negated one true; `...IfExists` makes it true; `ForAllValues:` is true
//! and `ForAnyValue:` false over an absent key.

use serde_json::Value;

use crate::{Request, glob, string_list};

pub fn holds(condition: Option<&Value>, request: &Request) -> bool {
    let Some(condition) = condition else {
        return true;
    };
    let Value::Object(operators) = condition else {
        return false;
    };
    operators.iter().all(|(operator, keys)| {
        let Value::Object(keys) = keys else {
            return false;
        };
        keys.iter()
            .all(|(key, values)| key_holds(operator, key, &string_list(Some(values)), request))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Single,
    AnyValue,
    AllValues,
}

fn key_holds(operator: &str, key: &str, policy_values: &[String], request: &Request) -> bool {
    let (qualifier, base) = match operator.split_once(':') {
        Some(("ForAnyValue", base)) => (Qualifier::AnyValue, base),
        Some(("ForAllValues", base)) => (Qualifier::AllValues, base),
        Some(_) => return false,
        None => (Qualifier::Single, operator),
    };
    let context = request.context_value(key);
    if base == "Null" {
        if qualifier != Qualifier::Single {
            return false;
        }
        let absent = context.as_ref().is_none_or(Vec::is_empty);
        return policy_values
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&absent.to_string()));
    }
    let (base, if_exists) = match base.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (base, false),
    };
    let Some(op) = Operator::parse(base) else {
        return false;
    };
    let values = match context {
        Some(values) if !values.is_empty() => values,
        _ => {
            return match qualifier {
                Qualifier::AllValues => true,
                Qualifier::AnyValue => if_exists,
                Qualifier::Single => if_exists || op.negated,
            };
        }
    };
    // One request value against the policy's values: matches any (positive) or none (negated).
    let element = |value: &String| {
        let matched = policy_values.iter().any(|p| op.matches(value, p));
        matched != op.negated
    };
    match qualifier {
        Qualifier::AllValues => values.iter().all(element),
        Qualifier::AnyValue => values.iter().any(element),
        Qualifier::Single if op.negated => values.iter().all(element),
        Qualifier::Single => values.iter().any(element),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Arn,
    Bool,
    Numeric(fn(f64, f64) -> bool),
}

#[derive(Clone, Copy)]
struct Operator {
    kind: Kind,
    negated: bool,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        let (kind, negated) = match name {
            "StringEquals" => (Kind::StringEquals, false),
            "StringNotEquals" => (Kind::StringEquals, true),
            "StringEqualsIgnoreCase" => (Kind::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Kind::StringEqualsIgnoreCase, true),
            "StringLike" => (Kind::StringLike, false),
            "StringNotLike" => (Kind::StringLike, true),
            "ArnEquals" | "ArnLike" => (Kind::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Kind::Arn, true),
            "Bool" => (Kind::Bool, false),
            "NumericEquals" => (Kind::Numeric(|a, b| a == b), false),
            "NumericNotEquals" => (Kind::Numeric(|a, b| a == b), true),
            "NumericLessThan" => (Kind::Numeric(|a, b| a < b), false),
            "NumericLessThanEquals" => (Kind::Numeric(|a, b| a <= b), false),
            "NumericGreaterThan" => (Kind::Numeric(|a, b| a > b), false),
            "NumericGreaterThanEquals" => (Kind::Numeric(|a, b| a >= b), false),
            _ => return None,
        };
        Some(Operator { kind, negated })
    }

    /// Whether the request's `value` matches the policy's `pattern` (before negation).
    fn matches(self, value: &str, pattern: &str) -> bool {
        match self.kind {
            Kind::StringEquals => value == pattern,
            Kind::StringEqualsIgnoreCase => value.eq_ignore_ascii_case(pattern),
            Kind::StringLike => glob::matches(pattern, value),
            Kind::Arn => glob::arn_matches(pattern, value),
            Kind::Bool => value.eq_ignore_ascii_case(pattern),
            Kind::Numeric(compare) => match (value.parse::<f64>(), pattern.parse::<f64>()) {
                (Ok(a), Ok(b)) => compare(a, b),
                _ => false,
            },
        }
    }
}
