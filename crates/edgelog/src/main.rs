//! The `edgelog` binary: runs the CLI and maps the outcome to an exit code.
//! 0 ok, 1 a condition the user asked about holds, 2 error (or an internal
//! error, reported in one line), 130 interrupted. A reader that goes away
//! (`| head`) ends the output early, which is success.

use std::process::ExitCode;

fn main() -> ExitCode {
    tune_allocator();
    edgelog::cli::install_panic_hook();
    edgelog::cli::exit_code(edgelog::cli::run(std::env::args_os()))
}

/// Two glibc allocator settings that keep the peak flat on large data.
/// glibc gives each thread that allocates its own arena, up to eight per
/// core, and keeps what was freed in it; and it serves a freed large
/// block's size from the heap afterwards (its dynamic mmap threshold), so
/// inflate buffers and record batches stay held after use. On ten times
/// the benchmark data the two together were about half of the peak
/// (`count(*)`: 313 MB, 158 MB with both set), at no measured cost in time
/// on the standard data. One arena per core, and blocks of 1 MiB and more
/// mapped and returned whole. `MALLOC_ARENA_MAX` and
/// `MALLOC_MMAP_THRESHOLD_`, when set, still decide.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let settings = [
        (
            "MALLOC_ARENA_MAX",
            libc::M_ARENA_MAX,
            i32::try_from(cores).unwrap_or(i32::MAX),
        ),
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 1 << 20),
    ];
    for (env, param, value) in settings {
        if std::env::var_os(env).is_none() {
            // SAFETY: mallopt only sets an allocator tunable; this runs
            // first thing in main, before any other thread exists. A
            // refused setting (return 0) leaves glibc's default, which is
            // correct, only larger.
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
