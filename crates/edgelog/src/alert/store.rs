//! The state directory: every rule's groups and the outbox of messages not
//! yet delivered, in one JSON file replaced atomically (written beside,
//! synced, renamed, the folder synced). A transition and its messages are
//! saved together, before any is sent, so a `kill -9` at any moment neither
//! forgets a FIRING group nor loses a message; one `watch` at a time holds
//! the folder (an advisory lock).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::state::GroupState;

/// Version of the state file's shape.
const SHAPE: u32 = 1;

/// Everything kept between rounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    /// The file's shape.
    #[serde(default)]
    pub shape: u32,
    /// Per rule name.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleState>,
    /// Messages saved and not delivered yet, oldest first.
    #[serde(default)]
    pub outbox: Vec<Message>,
}

/// One rule's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// Groups by key (`host=a.example`; `*` for a rule without `group_by`).
    #[serde(default)]
    pub groups: BTreeMap<String, GroupState>,
    /// The last evaluation (epoch ms).
    #[serde(default)]
    pub evaluated_ms: Option<i64>,
    /// The query's failure, while it fails.
    #[serde(default)]
    pub error: Option<RuleError>,
    /// Messages about the rule's own failures so far.
    #[serde(default)]
    pub error_sequence: u64,
    /// The last sequence number any of its groups' messages took: ids
    /// `rule/group/sequence` never repeat, even for a group forgotten and
    /// seen again.
    #[serde(default)]
    pub last_sequence: u64,
}

/// A rule whose evaluation fails: its own state, notified once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleError {
    /// Since when (evaluation time).
    pub since_ms: i64,
    /// Why, one line.
    pub message: String,
}

/// A message for one notifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `rule/group/sequence`: the same for every notifier of a transition,
    /// so that a receiver can drop a repeat.
    pub id: String,
    /// The notifier's name.
    pub notifier: String,
    /// The body's content.
    pub body: Notice,
    /// Tries so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before (epoch ms).
    #[serde(default)]
    pub next_attempt_ms: i64,
    /// Why the last try failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What a message says: the webhook body as it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The stable id.
    pub id: String,
    /// The rule's name.
    pub rule: String,
    /// The group's key.
    pub group_key: String,
    /// The group's values.
    pub group: serde_json::Map<String, serde_json::Value>,
    /// FIRING, OK (resolved), ERROR (the rule cannot be evaluated) or
    /// ERROR_RESOLVED.
    pub state: String,
    /// The state left.
    pub previous: String,
    /// The evaluation time, RFC 3339 UTC.
    pub at: String,
    /// The window evaluated.
    pub window: Window,
    /// The group's result row.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The rule's labels.
    pub labels: BTreeMap<String, String>,
    /// The text for people.
    pub message: String,
}

/// An evaluation's window, RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// First instant.
    pub since: String,
    /// Instant after the last.
    pub until: String,
}

/// The state folder, held by this process.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    /// Holds the advisory lock while open.
    _lock: std::fs::File,
}

impl StateDir {
    /// The default folder of a rules file: under `$XDG_STATE_HOME` (or
    /// `~/.local/state`), named after the file and a hash of its full path.
    pub fn default_for(rules_path: &str) -> PathBuf {
        let full = std::fs::canonicalize(rules_path).unwrap_or_else(|_| PathBuf::from(rules_path));
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(std::env::temp_dir);
        let stem = full
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rules".into());
        base.join("edgelog")
            .join(format!("{stem}-{:016x}", fnv1a(full.to_string_lossy().as_bytes())))
    }

    /// Opens (making) `dir` and takes its lock; another `watch` on it is an
    /// error naming the folder.
    pub fn open(dir: &Path) -> Result<StateDir, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make the state folder {}: {e}", dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        lock_exclusive(&lock).map_err(|busy| {
            if busy {
                format!(
                    "another edgelog watch holds the state folder {} (give each its own --state)",
                    dir.display()
                )
            } else {
                format!("cannot lock the state folder {}", dir.display())
            }
        })?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The state as last saved (empty at first).
    pub fn load(&self) -> Result<Stored, String> {
        read_state(&self.dir)
    }

    /// Replaces the saved state with `state`, atomically.
    pub fn save(&self, state: &Stored) -> Result<(), String> {
        let mut state_copy;
        let state = if state.shape == SHAPE {
            state
        } else {
            state_copy = state.clone();
            state_copy.shape = SHAPE;
            &state_copy
        };
        let path = self.dir.join("state.json");
        let tmp = self.dir.join("state.json.tmp");
        let fail = |e: std::io::Error| format!("cannot save the alert state in {}: {e}", self.dir.display());
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| format!("cannot encode the alert state: {e}"))?;
        let mut f = std::fs::File::create(&tmp).map_err(fail)?;
        f.write_all(&bytes).map_err(fail)?;
        f.sync_all().map_err(fail)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(fail)?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Reads the state saved in `dir` without taking the lock (for `alerts`).
pub fn read_state(dir: &Path) -> Result<Stored, String> {
    let path = dir.join("state.json");
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| format!("the alert state {} is damaged: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stored::default()),
        Err(e) => Err(format!("cannot read the alert state {}: {e}", path.display())),
    }
}

/// Takes an exclusive advisory lock without waiting; `Err(true)` when
/// another process holds it.
fn lock_exclusive(file: &std::fs::File) -> Result<(), bool> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(true),
        Err(std::fs::TryLockError::Error(_)) => Err(false),
    }
}

/// FNV-1a, 64 bits: a stable name for a path (not a secret).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_reads_back_and_one_holder_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::open(tmp.path()).unwrap();
        let mut st = Stored::default();
        st.rules.entry("r".into()).or_default().evaluated_ms = Some(7);
        dir.save(&st).unwrap();
        assert_eq!(dir.load().unwrap().rules["r"].evaluated_ms, Some(7));
        let again = StateDir::open(tmp.path()).unwrap_err();
        assert!(again.contains("another edgelog watch"), "{again}");
        drop(dir);
        assert!(StateDir::open(tmp.path()).is_ok());
    }
}
