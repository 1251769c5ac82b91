//! The `edgelog` binary: runs the CLI and maps the outcome to an exit code.
//! 0 ok, 1 a condition the user asked about holds, 2 error. A reader that
//! goes away (`| head`) ends the output early, which is success.

use std::process::ExitCode;

fn main() -> ExitCode {
    match edgelog::cli::run(std::env::args_os()) {
        Ok(code) => code,
        Err(_) if edgelog::output::broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgelog: {}", edgelog::cli::error_message(&e));
            ExitCode::from(2)
        }
    }
}
