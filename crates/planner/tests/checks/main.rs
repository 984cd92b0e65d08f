//! A failing and a passing fixture for every check of the catalog, by what the checks
//! protect.
//!
//! Each row of a table names a check, a fixture that must make `evaluate` report it (for the
//! right subject, with a message that names the right resource) and a fixture without the
//! defect that must not. Fixtures are the seed topology with one edit and, for live checks,
//! AWS as it is after applying the seed (`converge`) with one out-of-band change, or AWS as
//! it will be after a plan (`plan` + `simulate::play`, as `plan_checked` does).
//!
//! Every row is its own test (`cargo test --test checks cb013`); `the_table_covers_every_check`
//! fails when a check of the catalog has no row.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;
#[macro_use]
mod table;

mod catalog;
mod copies;
mod keys;
mod organization;
mod roles;
mod sources;
mod vaults;
