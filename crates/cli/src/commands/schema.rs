use std::process::ExitCode;

pub fn run() -> ExitCode {
    print!("{}", coffer_spec::json_schema());
    ExitCode::SUCCESS
}
