use std::process::ExitCode;

pub fn run() -> ExitCode {
    crate::out!("{}", coffer_spec::json_schema());
    ExitCode::SUCCESS
}
