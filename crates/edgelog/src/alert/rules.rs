//! The rules file (TOML): notifiers and rules, read as plain data and
//! checked key by key, so that every mistake is one line naming the rule
//! and the key. Keys may be added to this format; none is ever renamed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{one_line, parse_duration_ms, plain_spaces};

/// Why a rules file cannot be used: one line naming the file, the rule
/// (or notifier) and the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(pub String);

/// A whole rules file, checked.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Where it was read from, as given.
    pub path: String,
    /// Notifiers by name.
    pub notifiers: BTreeMap<String, NotifierConf>,
    /// Rules in file order; names are unique.
    pub rules: Vec<Rule>,
}

/// How a notifier delivers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifierConf {
    /// `slack`, `webhook` or `command`.
    pub kind: String,
    /// The environment variable holding the URL (a secret: never shown).
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file holding the URL.
    #[serde(default)]
    pub url_file: Option<String>,
    /// The environment variable holding the HMAC-SHA256 key of a webhook.
    #[serde(default)]
    pub hmac_secret_env: Option<String>,
    /// A file holding the HMAC-SHA256 key of a webhook.
    #[serde(default)]
    pub hmac_secret_file: Option<String>,
    /// The command and its arguments (`kind = "command"`); the message is
    /// its stdin, as JSON.
    #[serde(default)]
    pub argv: Vec<String>,
    /// Longest wait for one delivery (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// What an evaluation without a row for a group already known means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// Nothing changes: no evidence, no transition (the default).
    #[default]
    Keep,
    /// The group is healthy: as if `recover` were true.
    Ok,
    /// The group is failing: as if `fire` were true.
    Fire,
}

/// A rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConf {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    lake: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    every: Option<String>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    delay: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    fire: Option<String>,
    #[serde(default)]
    recover: Option<String>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    keep_firing: Option<String>,
    #[serde(default)]
    missing: Option<String>,
    #[serde(default)]
    notify: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    grace: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    discover: Option<String>,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// A SQL query over the window, with fire and recover conditions.
    Query {
        /// The SQL over `logs`.
        query: String,
        /// The result columns naming a group.
        group_by: Vec<String>,
        /// When a group fails (SQL boolean over the result columns).
        fire: String,
        /// When a failing group is healthy again.
        recover: String,
    },
    /// An object for each host and hour by a deadline.
    MissingUpload {
        /// How long after an hour's end its object may still arrive.
        grace_ms: i64,
        /// The hosts expected; empty: those seen in the last `discover_ms`.
        hosts: Vec<String>,
        /// How far back hosts are discovered.
        discover_ms: i64,
    },
}

/// A rule, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name, unique in the file.
    pub name: String,
    /// Raw locations (may be empty with `lake`).
    pub from: Vec<String>,
    /// The lake read instead of, or beside, `from`.
    pub lake: Option<String>,
    /// `--format` for `from` (default auto).
    pub format: String,
    /// Evaluation interval.
    pub every_ms: i64,
    /// The window each evaluation reads.
    pub window_ms: i64,
    /// How long ago the window ends (late objects).
    pub delay_ms: i64,
    /// How long `fire` must hold before FIRING.
    pub pending_ms: i64,
    /// How long `recover` must hold before a FIRING group is OK.
    pub keep_firing_ms: i64,
    /// What no row for a known group means.
    pub missing: Missing,
    /// Notifier names.
    pub notify: Vec<String>,
    /// Fixed labels sent with every message.
    pub labels: BTreeMap<String, String>,
    /// The message template: `{{column}}` is the group's value.
    pub message: Option<String>,
    /// What it watches.
    pub kind: RuleKind,
}

impl Rules {
    /// Reads and checks the rules file at `path`.
    pub fn load(path: &str) -> Result<Rules, RulesError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| RulesError(format!("cannot read the rules file {path}: {e}")))?;
        Rules::parse(path, &text)
    }

    /// Reads the notifiers of a rules file (which may hold no rule): for
    /// `ingest --notify` and `lake retain --notify`.
    pub fn load_notifiers(path: &str) -> Result<Rules, RulesError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| RulesError(format!("cannot read the rules file {path}: {e}")))?;
        Rules::parse_any(path, &text, false)
    }

    /// Checks the text of a rules file (`path` names it in errors).
    pub fn parse(path: &str, text: &str) -> Result<Rules, RulesError> {
        Rules::parse_any(path, text, true)
    }

    fn parse_any(path: &str, text: &str, need_rules: bool) -> Result<Rules, RulesError> {
        let text = plain_spaces(text);
        let value: toml::Table =
            toml::from_str(&text).map_err(|e| RulesError(format!("{path}: {}", one_line(&e.to_string()))))?;
        let mut notifiers = BTreeMap::new();
        let mut rules = Vec::new();
        for (key, v) in value {
            match key.as_str() {
                "notifier" => {
                    let toml::Value::Table(t) = v else {
                        return Err(RulesError(format!(
                            "{path}: `notifier` must be tables: [notifier.NAME]"
                        )));
                    };
                    for (name, v) in t {
                        let at = format!("{path}: notifier {name:?}");
                        let conf: NotifierConf = v
                            .try_into()
                            .map_err(|e: toml::de::Error| RulesError(format!("{at}: {}", one_line(e.message()))))?;
                        check_notifier(&at, &conf)?;
                        notifiers.insert(name, conf);
                    }
                }
                "rule" => {
                    let toml::Value::Array(list) = v else {
                        return Err(RulesError(format!(
                            "{path}: `rule` must be an array of tables: [[rule]]"
                        )));
                    };
                    for (i, v) in list.into_iter().enumerate() {
                        let name = v
                            .get("name")
                            .and_then(toml::Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| RulesError(format!("{path}: rule {}: key \"name\" is missing", i + 1)))?;
                        let at = format!("{path}: rule {name:?}");
                        let conf: RuleConf = v
                            .try_into()
                            .map_err(|e: toml::de::Error| RulesError(format!("{at}: {}", one_line(e.message()))))?;
                        rules.push(check_rule(&at, conf)?);
                    }
                }
                other => {
                    return Err(RulesError(format!(
                        "{path}: unknown key {other:?}: a rules file holds [notifier.NAME] and [[rule]] tables"
                    )));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &rules {
            if !seen.insert(r.name.clone()) {
                return Err(RulesError(format!("{path}: rule {:?}: the name is used twice", r.name)));
            }
            for n in &r.notify {
                if !notifiers.contains_key(n) {
                    return Err(RulesError(format!(
                        "{path}: rule {:?}: key \"notify\": no notifier {n:?} (define [notifier.{n}])",
                        r.name
                    )));
                }
            }
        }
        if rules.is_empty() && need_rules {
            return Err(RulesError(format!("{path}: no rule: add a [[rule]] table")));
        }
        Ok(Rules {
            path: path.to_string(),
            notifiers,
            rules,
        })
    }

    /// The rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

fn check_notifier(at: &str, n: &NotifierConf) -> Result<(), RulesError> {
    let url = n.url_env.is_some() || n.url_file.is_some();
    for (key, var) in [("url_env", &n.url_env), ("hmac_secret_env", &n.hmac_secret_env)] {
        // A secret pasted where its variable's name belongs: say so
        // without repeating it.
        if let Some(v) = var
            && (v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(RulesError(format!(
                "{at}: key {key:?}: give the name of an environment variable (letters, digits, _), not the secret itself"
            )));
        }
    }
    match n.kind.as_str() {
        "slack" | "webhook" => {
            if !url {
                return Err(RulesError(format!(
                    "{at}: key \"url_env\": a {} notifier needs url_env or url_file",
                    n.kind
                )));
            }
            if n.kind == "slack" && (n.hmac_secret_env.is_some() || n.hmac_secret_file.is_some()) {
                return Err(RulesError(format!(
                    "{at}: key \"hmac_secret_env\": Slack webhooks are not signed; use kind = \"webhook\""
                )));
            }
        }
        "command" => {
            if n.argv.is_empty() {
                return Err(RulesError(format!(
                    "{at}: key \"argv\": a command notifier needs argv = [\"program\", ...]"
                )));
            }
        }
        other => {
            return Err(RulesError(format!(
                "{at}: key \"kind\": unknown notifier kind {other:?}: use slack, webhook or command"
            )));
        }
    }
    if let Some(t) = &n.timeout {
        duration(at, "timeout", t, true)?;
    }
    Ok(())
}

/// A duration key, checked: `0` allowed only where `zero` says.
fn duration(at: &str, key: &str, text: &str, positive: bool) -> Result<i64, RulesError> {
    match parse_duration_ms(text) {
        Some(ms) if ms > 0 || (!positive && ms == 0) => Ok(ms),
        _ => Err(RulesError(format!(
            "{at}: key {key:?}: bad duration {text:?}: use e.g. 30s, 5m, 1h, 1d{}",
            if positive { " (above zero)" } else { "" }
        ))),
    }
}

fn opt_duration(at: &str, key: &str, text: &Option<String>, default: i64, positive: bool) -> Result<i64, RulesError> {
    match text {
        Some(t) => duration(at, key, t, positive),
        None => Ok(default),
    }
}

fn check_rule(at: &str, c: RuleConf) -> Result<Rule, RulesError> {
    if c.name.trim().is_empty() {
        return Err(RulesError(format!("{at}: key \"name\": give the rule a name")));
    }
    if c.name.contains('/') {
        return Err(RulesError(format!(
            "{at}: key \"name\": no '/' in a name (it separates rule and group in message ids)"
        )));
    }
    if c.from.is_empty() && c.lake.is_none() {
        return Err(RulesError(format!(
            "{at}: key \"from\": give from = [\"LOCATION\", ...] or lake = \"LAKE\""
        )));
    }
    let missing = match c.missing.as_deref() {
        None | Some("keep") => Missing::Keep,
        Some("ok") => Missing::Ok,
        Some("fire") => Missing::Fire,
        Some(other) => {
            return Err(RulesError(format!(
                "{at}: key \"missing\": unknown value {other:?}: use keep, ok or fire"
            )));
        }
    };
    let query_keys = [
        ("query", c.query.is_some()),
        ("fire", c.fire.is_some()),
        ("recover", c.recover.is_some()),
        ("group_by", !c.group_by.is_empty()),
        ("window", c.window.is_some()),
        ("pending", c.pending.is_some()),
        ("keep_firing", c.keep_firing.is_some()),
        ("missing", c.missing.is_some()),
    ];
    let upload_keys = [
        ("grace", c.grace.is_some()),
        ("hosts", !c.hosts.is_empty()),
        ("discover", c.discover.is_some()),
    ];
    let kind = match c.kind.as_deref() {
        None | Some("query") => {
            if let Some((key, _)) = upload_keys.iter().find(|(_, set)| *set) {
                return Err(RulesError(format!(
                    "{at}: key {key:?}: only for kind = \"missing_upload\""
                )));
            }
            let need = |key: &str, v: &Option<String>| {
                v.as_deref()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| RulesError(format!("{at}: key {key:?} is missing")))
            };
            let query = need("query", &c.query)?;
            let fire = need("fire", &c.fire)?;
            // Without its own condition a group recovers when `fire` is
            // false: shown by an evaluation, never by time passing.
            let recover = match &c.recover {
                Some(r) if r.trim().is_empty() => return Err(RulesError(format!("{at}: key \"recover\" is empty"))),
                Some(r) => r.trim().to_string(),
                None => format!("NOT ({fire})"),
            };
            for g in &c.group_by {
                if g.trim().is_empty() {
                    return Err(RulesError(format!("{at}: key \"group_by\": an empty column name")));
                }
            }
            RuleKind::Query {
                query,
                group_by: c.group_by.clone(),
                fire,
                recover,
            }
        }
        Some("missing_upload") => {
            if let Some((key, _)) = query_keys.iter().find(|(_, set)| *set) {
                return Err(RulesError(format!(
                    "{at}: key {key:?}: not for kind = \"missing_upload\""
                )));
            }
            if c.lake.is_some() || c.from.is_empty() {
                return Err(RulesError(format!(
                    "{at}: key \"from\": a missing_upload rule watches raw objects: give from = [...]"
                )));
            }
            RuleKind::MissingUpload {
                grace_ms: opt_duration(at, "grace", &c.grace, 30 * 60_000, false)?,
                hosts: c.hosts.clone(),
                discover_ms: opt_duration(at, "discover", &c.discover, 3 * 86_400_000, true)?,
            }
        }
        Some(other) => {
            return Err(RulesError(format!(
                "{at}: key \"kind\": unknown rule kind {other:?}: use query (the default) or missing_upload"
            )));
        }
    };
    let every_ms = opt_duration(at, "every", &c.every, 60_000, true)?;
    let window_default = match kind {
        RuleKind::Query { .. } => 15 * 60_000,
        RuleKind::MissingUpload { .. } => 0,
    };
    if matches!(kind, RuleKind::Query { .. }) && c.window.is_none() {
        return Err(RulesError(format!(
            "{at}: key \"window\" is missing (e.g. window = \"15m\")"
        )));
    }
    let window_ms = opt_duration(
        at,
        "window",
        &c.window,
        window_default,
        matches!(kind, RuleKind::Query { .. }),
    )?;
    Ok(Rule {
        name: c.name.clone(),
        from: c.from.clone(),
        lake: c.lake.clone(),
        format: c.format.clone().unwrap_or_else(|| "auto".into()),
        every_ms,
        window_ms,
        delay_ms: opt_duration(at, "delay", &c.delay, 0, false)?,
        pending_ms: opt_duration(at, "pending", &c.pending, 0, false)?,
        keep_firing_ms: opt_duration(at, "keep_firing", &c.keep_firing, 0, false)?,
        missing,
        notify: c.notify.clone(),
        labels: c.labels.clone(),
        message: c.message.clone(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[notifier.ops]
kind = "webhook"
url_env = "OPS_URL"

[[rule]]
name = "5xx ratio per host"
from = ["./logs"]
every = "1m"
window = "15m"
delay = "5m"
query = """SELECT host, count(*) AS requests FROM logs GROUP BY host"""
group_by = ["host"]
fire = "requests > 10"
recover = "requests < 5"
pending = "5m"
notify = ["ops"]
message = "{{host}}: {{requests}}"

[[rule]]
name = "hourly upload missing"
kind = "missing_upload"
from = ["./logs"]
grace = "30m"
"#;

    fn err(text: &str) -> String {
        Rules::parse("r.toml", text).unwrap_err().0
    }

    #[test]
    fn a_good_file_reads() {
        let r = Rules::parse("r.toml", GOOD).unwrap();
        assert_eq!(r.rules.len(), 2);
        let first = &r.rules[0];
        assert_eq!(
            (first.every_ms, first.window_ms, first.delay_ms, first.pending_ms),
            (60_000, 900_000, 300_000, 300_000)
        );
        assert!(matches!(
            &r.rules[1].kind,
            RuleKind::MissingUpload {
                grace_ms: 1_800_000,
                ..
            }
        ));
    }

    #[test]
    fn mistakes_name_rule_and_key() {
        let e = err(&GOOD.replace("pending = \"5m\"", "pending = \"5 minutes\""));
        assert!(
            e.contains("rule \"5xx ratio per host\"") && e.contains("\"pending\""),
            "{e}"
        );
        let e = err(&GOOD.replace("pending = ", "pendng = "));
        assert!(e.contains("rule \"5xx ratio per host\"") && e.contains("pendng"), "{e}");
        let e = err(&GOOD.replace("notify = [\"ops\"]", "notify = [\"pager\"]"));
        assert!(e.contains("\"notify\"") && e.contains("pager"), "{e}");
        let e = err(&GOOD.replace("grace = \"30m\"", "grace = \"30m\"\nwindow = \"1h\""));
        assert!(e.contains("hourly upload missing") && e.contains("\"window\""), "{e}");
        let e = err(&GOOD.replace("url_env = \"OPS_URL\"", "url_env = \"https://hooks.example/T0/SECRET\""));
        assert!(e.contains("\"url_env\"") && !e.contains("SECRET"), "{e}");
        let e = err(&GOOD.replace("kind = \"webhook\"", "kind = \"pager\""));
        assert!(e.contains("notifier \"ops\"") && e.contains("\"kind\""), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn no_break_spaces_are_spaces() {
        let pasted = GOOD
            .replace("SELECT host", "SELECT\u{a0}host")
            .replace("fire = ", "fire\u{a0}= ");
        let r = Rules::parse("r.toml", &pasted).unwrap();
        let RuleKind::Query { query, .. } = &r.rules[0].kind else {
            panic!()
        };
        assert!(query.starts_with("SELECT host"));
    }
}
