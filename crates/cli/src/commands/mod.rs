//! One module a command: its arguments, and a `run` that calls the library crates and prints.
//! What commands share is in [`crate::context`].

pub mod apply;
pub mod check;
pub mod drift;
pub mod drill;
pub mod graph;
pub mod iam_policy;
pub mod plan;
pub mod schema;
pub mod unlock;
pub mod validate;
