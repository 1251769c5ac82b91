//! Unit tests of rules (`watch --test FILE`): log lines at times in, the
//! states expected of groups at times out. Each test evaluates one rule of
//! the rules file, unchanged but for its source (the test's lines), every
//! `every` from `since` to `until`, on fresh state.

use serde::Deserialize;

use super::Watcher;
use super::rules::Rules;
use super::store::Stored;
use crate::config::{StorageOptions, TimeRange, one_line, parse_time_arg, plain_spaces};

/// A tests file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTests {
    /// The tests, in order.
    #[serde(default)]
    test: Vec<RuleTest>,
}

/// One test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleTest {
    name: String,
    rule: String,
    /// The lines' format (default: the rule's).
    #[serde(default)]
    format: Option<String>,
    /// First evaluation.
    since: String,
    /// No evaluation at or after this.
    until: String,
    /// The log lines, one per line.
    lines: String,
    #[serde(default)]
    expect: Vec<Expect>,
}

/// A group's state expected at a time (after the last evaluation at or
/// before it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    at: String,
    group: String,
    state: String,
}

/// How one test went.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// Why it failed.
    pub failure: Option<String>,
}

impl RuleTests {
    /// Reads a tests file.
    pub fn load(path: &str) -> Result<RuleTests, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the tests file {path}: {e}"))?;
        toml::from_str(&plain_spaces(&text)).map_err(|e| format!("{path}: {}", one_line(&e.to_string())))
    }

    /// Runs every test against `rules`.
    pub async fn run(&self, rules: &Rules) -> Result<Vec<TestOutcome>, String> {
        let mut out = Vec::new();
        for t in &self.test {
            let failure = run_one(rules, t).await.err();
            out.push(TestOutcome {
                name: t.name.clone(),
                failure,
            });
        }
        Ok(out)
    }
}

async fn run_one(rules: &Rules, t: &RuleTest) -> Result<(), String> {
    let mut rule = rules
        .rule(&t.rule)
        .cloned()
        .ok_or_else(|| format!("no rule {:?} in {}", t.rule, rules.path))?;
    let at = |text: &str| {
        parse_time_arg(text, 0, 0)
            .ok_or_else(|| format!("bad time {text:?}: use ISO 8601 such as 2024-11-27T10:00:00Z"))
    };
    let (since, until) = (at(&t.since)?, at(&t.until)?);
    if t.expect.is_empty() {
        return Err("no [[test.expect]]: a test must expect something".into());
    }
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let file = dir.path().join("lines.log");
    std::fs::write(&file, t.lines.trim_start().as_bytes()).map_err(|e| e.to_string())?;
    rule.from = vec![file.to_string_lossy().into_owned()];
    rule.lake = None;
    rule.notify.clear();
    if let Some(f) = &t.format {
        rule.format = f.clone();
    }
    let one = Rules {
        path: rules.path.clone(),
        notifiers: Default::default(),
        rules: vec![rule.clone()],
    };
    let mut watcher = Watcher::new(one, StorageOptions::default());
    let span = TimeRange {
        since: super::eval::window(&rule, since).since,
        until: super::eval::window(&rule, until).until,
    };
    let logs = watcher.open(&rule, span, until).await?;
    super::eval::check(&rule, &logs).await?;
    let mut expects: Vec<(i64, &Expect)> = t
        .expect
        .iter()
        .map(|e| Ok((at(&e.at)?, e)))
        .collect::<Result<_, String>>()?;
    expects.sort_by_key(|(t, _)| *t);
    let mut state = Stored::default();
    let mut next = since;
    for (when, e) in expects {
        while next <= when && next < until {
            watcher.evaluate(&rule.name, &mut state, next, Some(&logs)).await;
            next += rule.every_ms;
        }
        let rs = state.rules.get(&rule.name);
        if let Some(err) = rs.and_then(|r| r.error.as_ref()) {
            return Err(format!("the rule fails: {}", err.message));
        }
        let got = rs
            .and_then(|r| r.groups.get(&e.group))
            .map_or("OK", |g| g.phase.as_str());
        if !got.eq_ignore_ascii_case(&e.state) {
            return Err(format!(
                "at {}: group {} is {got}, expected {}",
                e.at,
                e.group,
                e.state.to_uppercase()
            ));
        }
    }
    Ok(())
}
