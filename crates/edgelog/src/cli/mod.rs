//! The command line: clap derive types, one file per subcommand, each
//! turning its flags into plain data (a [`crate::engine::ScanRequest`])
//! before any I/O, asking the engine, and showing the answer. All printing
//! happens here and in the renderers (`output.rs`, `report/render*`); the
//! only I/O of its own is reading its inputs (SQL files, format files,
//! stdin) and writing outputs. No clap type leaves this module.

mod cluster;
mod demo;
mod detect;
mod formats;
mod functions;
mod ingest;
mod lake;
mod progress;
mod query;
mod report;
mod scope;
#[cfg(feature = "server")]
mod serve;
mod watch;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// Query, report on, keep and alert on web/CDN access logs where they live.
#[derive(Debug, Parser)]
#[command(name = "edgelog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL over access logs (the table is `logs`).
    Query(Box<query::QueryArgs>),
    /// The everyday questions as panels: terminal, Markdown or JSON.
    Report(Box<report::ReportArgs>),
    /// Read raw logs once into a lake (a Delta Lake table): only objects it does not hold yet.
    Ingest(Box<ingest::IngestArgs>),
    /// What a lake holds.
    Lake(Box<lake::LakeArgs>),
    /// Evaluate alert rules on their schedule and notify transitions (--once, --replay, --check, --test).
    Watch(Box<watch::WatchArgs>),
    /// The state of every alert group: OK, PENDING or FIRING, since when, last values.
    Alerts(watch::AlertsArgs),
    /// A live dashboard and an HTTP API over the logs (reports, SQL, alerts, lake status, metrics).
    #[cfg(feature = "server")]
    Serve(Box<serve::ServeArgs>),
    /// Run a scheduler or an executor of an edgelog cluster (Apache DataFusion Ballista).
    Cluster(cluster::ClusterArgs),
    /// List the log formats edgelog reads, with their columns.
    Formats(formats::FormatsArgs),
    /// Tell the format of logs from their first lines, with the evidence.
    Detect(detect::DetectArgs),
    /// List the SQL functions edgelog adds, with signatures and examples.
    Functions(functions::FunctionsArgs),
    /// Write realistic sample logs and answer example questions on them.
    Demo(demo::DemoArgs),
    /// Panics on purpose, to test how an internal error reaches the user.
    #[command(name = "internal-panic", hide = true)]
    InternalPanic {
        /// Panic inside a task of the async runtime rather than on the main thread.
        #[arg(long)]
        in_task: bool,
    },
}

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: u8 = 130;

static PANICKED: AtomicBool = AtomicBool::new(false);

/// Makes any panic one line on stderr, `edgelog: internal error at
/// FILE:LINE: MESSAGE (...)`, with the backtrace only when
/// `RUST_BACKTRACE` asks for one; [`exit_code`] then turns the run into exit 2.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        // Only the first panic is reported; later ones are its echoes.
        if PANICKED.swap(true, Ordering::SeqCst) {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map_or("?".to_string(), |l| format!("{}:{}", l.file(), l.line()));
        eprintln!(
            "edgelog: internal error at {at}: {} (please report this with the command line)",
            message.replace('\n', " ")
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// The exit code for the outcome of [`run`], printing the error (one line)
/// when there is one: 2 for an error or a panic, success when the reader of
/// the output went away (`| head`).
pub fn exit_code(outcome: Result<ExitCode>) -> ExitCode {
    if PANICKED.load(Ordering::SeqCst) {
        return ExitCode::from(2);
    }
    match outcome {
        Ok(code) => code,
        Err(e) if crate::output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgelog: {}", crate::report::render::clean(&error_message(&e)));
            ExitCode::from(2)
        }
    }
}

/// Parses the arguments and runs the command. `--help` and `--version` are
/// printed by clap (exit 0); a usage error comes back as a one-line error.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode> {
    let args: Vec<OsString> = args.into_iter().collect();
    // The command's name, for the trace span of this run.
    let command_name = format!(
        "edgelog {}",
        args.get(1)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        // A usage error is one line, like every other error.
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            bail!("{} (see --help)", first.trim_start_matches("error: "));
        }
    };
    // The server stops on its own signals, letting requests in flight end.
    #[cfg(feature = "server")]
    let own_signals = matches!(cli.command, Command::Serve(_));
    #[cfg(not(feature = "server"))]
    let own_signals = false;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Ctrl-C normally drops the command at its next await (below); a command
    // stuck in synchronous work (a blocked write, reading stdin, generating
    // data) is ended here instead, from a worker thread, after a moment.
    let _watchdog = runtime.spawn(async move {
        if own_signals {
            return;
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(800)).await;
            crate::output::interrupt();
            eprintln!("edgelog: interrupted");
            std::process::exit(i32::from(INTERRUPTED));
        }
    });
    // A panic on this thread was reported by the hook; it must not unwind
    // out of main (exit 101), and the runtime must still be shut down.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let command = async {
                match cli.command {
                    Command::Query(args) => query::run(*args).await,
                    Command::Report(args) => report::run(*args).await,
                    Command::Ingest(args) => ingest::run(*args).await,
                    Command::Lake(args) => lake::run(*args).await,
                    Command::Watch(args) => watch::run(*args).await,
                    Command::Alerts(args) => watch::run_alerts(args).await,
                    #[cfg(feature = "server")]
                    Command::Serve(args) => serve::run(*args).await,
                    Command::Cluster(args) => cluster::run(args).await,
                    Command::Formats(args) => formats::run(args),
                    Command::Detect(args) => detect::run(args).await,
                    Command::Functions(args) => functions::run(args),
                    Command::Demo(args) => demo::run(args).await,
                    Command::InternalPanic { in_task: false } => panic!("internal-panic asked for"),
                    Command::InternalPanic { in_task: true } => {
                        let task = tokio::spawn(async { panic!("internal-panic asked for, in a task") });
                        task.await.context("the task ended")?;
                        Ok(ExitCode::SUCCESS)
                    }
                }
            };
            // Ctrl-C drops the command where it stands: its streams stop, its
            // temporary files are removed, and nothing more is printed (stdout
            // takes no more bytes before the command and its buffers go).
            let mut command = std::pin::pin!(command);
            let mut span = crate::trace::start_process(&command_name);
            let outcome = if own_signals {
                Some(command.await)
            } else {
                tokio::select! {
                    outcome = &mut command => Some(outcome),
                    _ = tokio::signal::ctrl_c() => {
                        crate::output::interrupt();
                        None
                    }
                }
            };
            if let Some(Err(e)) = &outcome {
                span.fail(&error_message(e));
            }
            span.end();
            if let Err(why) = crate::trace::flush(Duration::from_secs(5)).await {
                eprintln!("edgelog: {}", crate::report::render::clean(&why));
            }
            outcome
        })
    }));
    // Scan threads still inflating an object are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match outcome {
        Ok(Some(outcome)) => outcome,
        Ok(None) => {
            eprintln!("edgelog: interrupted");
            Ok(ExitCode::from(INTERRUPTED))
        }
        Err(_) => bail!("internal error"),
    }
}

/// The message for an error, on one line, without DataFusion's wrapping
/// ("External error: ...") or backtraces.
pub fn error_message(e: &anyhow::Error) -> String {
    use datafusion::error::DataFusionError;
    let mut parts = Vec::new();
    for cause in e.chain() {
        let df = cause.downcast_ref::<DataFusionError>().or_else(|| {
            cause
                .downcast_ref::<crate::engine::Error>()
                .and_then(|e| e.as_datafusion())
        });
        if let Some(df) = df {
            parts.push(datafusion_message(df));
            break;
        }
        parts.push(cause.to_string());
    }
    parts.dedup();
    parts.join(": ").replace('\n', " ")
}

fn datafusion_message(e: &datafusion::error::DataFusionError) -> String {
    crate::engine::datafusion_message(e)
}
