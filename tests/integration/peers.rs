//! Correctness against a peer: on data made by `shared/bench/genlogs.py`,
//! the six canonical questions of `shared/bench/peers.py`, asked of edgelog
//! in typed SQL (`bench/questions.tsv`), give the same rows as chDB
//! (embedded ClickHouse). chDB comes from PyPI into a virtualenv that
//! `.ci/run` prepares, or that this test makes on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Cmd, shared_dir};

/// The Python that has chDB: `$EDGELOG_PEERS_PYTHON`, or the virtualenv at
/// `~/.cache/edgelog/peers`, made here when missing.
pub(crate) fn peers_python() -> PathBuf {
    if let Some(p) = std::env::var_os("EDGELOG_PEERS_PYTHON") {
        return PathBuf::from(p);
    }
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let venv = home.join(".cache/edgelog/peers");
    let python = venv.join("bin/python");
    let has_chdb = |py: &Path| {
        Command::new(py)
            .args(["-c", "import chdb"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_chdb(&python) {
        eprintln!("installing chdb into {} (once)", venv.display());
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .unwrap()
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "chdb"])
                .status()
                .unwrap()
                .success();
        assert!(
            ok && has_chdb(&python),
            "could not install chdb from PyPI into {}",
            venv.display()
        );
    }
    python
}

fn questions() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/questions.tsv")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A row as comparable cells: numbers by value, text as is.
fn normalise(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| {
            let c = c.trim_matches('"');
            match c.parse::<f64>() {
                Ok(v) => format!("{v}"),
                Err(_) => c.to_string(),
            }
        })
        .collect()
}

#[test]
fn answers_equal_chdb_on_genlogs_data() {
    let shared = shared_dir();
    let genlogs = shared.join("bench/genlogs.py");
    let peers = shared.join("bench/peers.py");
    assert!(
        genlogs.exists() && peers.exists(),
        "shared/bench not found at {}",
        shared.display()
    );
    let python = peers_python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let status = Command::new("python3")
        .arg(&genlogs)
        .args([
            data,
            "--hosts",
            "2",
            "--hours",
            "40",
            "--lines-per-hour",
            "600",
            "--seed",
            "3",
            "--jobs",
            "2",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let qs = questions();
    assert_eq!(qs.len(), 6);
    for (name, sql) in qs {
        let ours = Cmd::new(["query", "-q", "--from", data, "-o", "csv", &sql]).run();
        let ours: Vec<Vec<String>> = ours.ok().lines().skip(1).map(normalise).collect();
        let theirs = Command::new(&python)
            .arg(&peers)
            .args(["one", "chdb", &name, data])
            .output()
            .unwrap();
        assert!(
            theirs.status.success(),
            "chdb failed: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let theirs: Vec<Vec<String>> = String::from_utf8_lossy(&theirs.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(normalise)
            .collect();
        assert!(!theirs.is_empty(), "{name}: chdb returned nothing");
        assert_eq!(ours, theirs, "{name}: edgelog and chDB differ");
        eprintln!("{name}: {} rows equal to chDB's", ours.len());
    }
}
