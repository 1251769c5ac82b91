//! The `edgelog` binary: runs the CLI and maps the outcome to an exit code.
//! 0 ok, 1 a condition the user asked about holds, 2 error (or an internal
//! error, reported in one line), 130 interrupted. A reader that goes away
//! (`| head`) ends the output early, which is success.

use std::process::ExitCode;

fn main() -> ExitCode {
    edgelog::cli::install_panic_hook();
    edgelog::cli::exit_code(edgelog::cli::run(std::env::args_os()))
}
