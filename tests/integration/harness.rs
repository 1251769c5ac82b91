//! Running the real `edgelog` binary with a clean environment, temporary
//! folders, and sample data.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fixture logs under `tests/data/sakura/`.
pub fn fixture() -> String {
    format!("{}/../../tests/data/sakura/", env!("CARGO_MANIFEST_DIR"))
}

/// `shared/` beside the repository (or `$EDGELOG_SHARED`).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("EDGELOG_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts exit code 2 with a one-line `edgelog: ...` error, and returns it.
    #[track_caller]
    pub fn error(&self) -> &str {
        assert_eq!(
            self.code, 2,
            "expected exit 2; stdout: {} stderr: {}",
            self.stdout, self.stderr
        );
        let err = self.stderr.trim_end();
        assert!(err.starts_with("edgelog: ") || err.starts_with("error: "), "{err}");
        assert_eq!(err.lines().count(), 1, "error is not one line: {err}");
        err
    }
}

/// A command line for the binary, with no `AWS_*` variables and an empty
/// `HOME`, so that nothing from the machine leaks into a test.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    _home: Option<tempfile::TempDir>,
}

impl Cmd {
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgelog"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", home.path()).args(args);
        Cmd {
            cmd,
            stdin: None,
            _home: Some(home),
        }
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// More arguments.
    pub fn args_from(mut self, args: &[&str]) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    /// The command line and its temporary HOME (keep it while the process
    /// runs), for tests that drive the process themselves.
    pub fn into_parts(self) -> (Command, tempfile::TempDir) {
        let home = self._home.expect("a Cmd has its HOME until it runs");
        (self.cmd, home)
    }

    /// Runs to the end (at most five minutes: a hang is a failure).
    pub fn run(mut self) -> Run {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().unwrap();
        if let Some(input) = self.stdin.take() {
            let mut s = child.stdin.take().unwrap();
            std::thread::spawn(move || s.write_all(&input));
        }
        let id = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let out = match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
                panic!("edgelog did not finish within 5 minutes");
            }
        };
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and returns how long it took too.
    pub fn run_timed(self) -> (Run, Duration) {
        let start = Instant::now();
        let run = self.run();
        (run, start.elapsed())
    }
}

/// `edgelog ARGS...` with a clean environment.
pub fn edgelog<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Cmd::new(args).run()
}

/// Writes sample logs with the binary's own generator.
pub fn generate(out: &Path, hosts: u32, hours: u32, lines_per_hour: u32, bad: f64, late: f64) {
    let out_s = out.to_str().unwrap();
    let (h, hr, l, b, lt) = (
        hosts.to_string(),
        hours.to_string(),
        lines_per_hour.to_string(),
        bad.to_string(),
        late.to_string(),
    );
    edgelog([
        "demo",
        "--generate-only",
        "--out",
        out_s,
        "--hosts",
        &h,
        "--hours",
        &hr,
        "--lines-per-hour",
        &l,
        "--seed",
        "7",
        "--bad",
        &b,
        "--late",
        &lt,
    ])
    .ok();
}
