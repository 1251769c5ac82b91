//! Alerts: rules over logs that fire and recover per group, only on
//! evidence, with each transition notified once.
//!
//! A round evaluates rules ([`Watcher::evaluate`]): each rule's query runs
//! over its window through the engine's front door ([`eval`]), every group
//! steps its state machine ([`state::step`]), and the transitions become
//! messages saved in the state's outbox with the new states, atomically
//! ([`store`]). Delivery ([`deliver_due`]) then sends what the outbox holds,
//! removing each message once its receiver took it; a crash between the two
//! may send one message twice, under the same id.

pub mod eval;
pub mod notify;
pub mod rules;
pub mod ruletest;
pub mod state;
pub mod store;
pub mod upload;

use std::collections::{BTreeMap, HashMap};

use chrono::{SecondsFormat, TimeZone, Utc};

use crate::config::{StorageOptions, TimeRange, one_line};
use crate::dialect::DialectSpec;
use crate::engine::LogSet;
use eval::GroupRow;
use rules::{Rule, RuleKind, Rules};
use state::{Evidence, Phase, Timing, step};
use store::{Message, Notice, RuleError, Stored, Window};

/// A transition as shown to people (and by `--replay`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Evaluation time.
    pub at_ms: i64,
    /// The rule.
    pub rule: String,
    /// The group's key (`!error` for the rule's own failure).
    pub group: String,
    /// From and to: OK, PENDING, FIRING, ERROR.
    pub from: String,
    /// The state entered.
    pub to: String,
    /// The message text.
    pub message: String,
}

/// Evaluates rules over their sources; keeps per rule what it learnt of
/// the source (the dialect decided, whether the query was checked).
pub struct Watcher {
    /// The rules.
    pub rules: Rules,
    storage: StorageOptions,
    /// The dialect each rule's source turned out to be, so that later
    /// rounds neither detect nor sample again.
    decided: HashMap<String, DialectSpec>,
    checked: HashMap<String, bool>,
}

/// The key of a rule's own failure among its groups' messages.
pub const ERROR_GROUP: &str = "!error";

impl Watcher {
    /// Rules, read over storage set up as `storage` says.
    pub fn new(rules: Rules, storage: StorageOptions) -> Watcher {
        Watcher {
            rules,
            storage,
            decided: HashMap::new(),
            checked: HashMap::new(),
        }
    }

    /// Opens `rule`'s source over `range`, as of `now_ms`.
    pub async fn open(&mut self, rule: &Rule, range: TimeRange, now_ms: i64) -> Result<LogSet, String> {
        let mut req = eval::request(rule, &self.storage, range, now_ms);
        if let Some(spec) = self.decided.get(&rule.name) {
            req.format = spec.clone();
        }
        let logs = LogSet::open(&req).await.map_err(|e| one_line(&e.to_string()))?;
        self.decided.insert(rule.name.clone(), logs.request().format.clone());
        Ok(logs)
    }

    /// Plans every rule's query over its source now: the first mistake,
    /// naming rule and key.
    pub async fn check_all(&mut self, now_ms: i64) -> Result<(), String> {
        for rule in self.rules.rules.clone() {
            if let RuleKind::Query { .. } = rule.kind {
                let logs = self
                    .open(&rule, eval::window(&rule, now_ms), now_ms)
                    .await
                    .map_err(|e| format!("rule {:?}: key \"from\": {e}", rule.name))?;
                eval::check(&rule, &logs).await?;
                self.checked.insert(rule.name.clone(), true);
            }
        }
        Ok(())
    }

    /// Evaluates rule `name` at `at_ms` into `state`: the groups step, and
    /// the messages of their transitions join the outbox. `logs`, when
    /// given, is the rule's source opened already (a replay's); otherwise
    /// it is opened now, so objects that arrived since the last round are
    /// seen.
    pub async fn evaluate(&mut self, name: &str, state: &mut Stored, at_ms: i64, logs: Option<&LogSet>) -> Vec<Event> {
        let Some(rule) = self.rules.rule(name).cloned() else {
            return Vec::new();
        };
        let range = eval::window(&rule, at_ms);
        let outcome = match &rule.kind {
            RuleKind::Query { .. } => self.evaluate_query(&rule, range, at_ms, logs).await,
            RuleKind::MissingUpload { .. } => {
                let known = state
                    .rules
                    .get(name)
                    .map(|r| {
                        // Hours still failing are checked again; healthy
                        // ones are not, so the listing stays bounded.
                        r.groups
                            .iter()
                            .filter(|(_, g)| g.phase != Phase::Ok)
                            .map(|(k, _)| k.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                upload::evaluate(&rule, &self.storage, at_ms, &known, self.decided.get(name).cloned()).await
            }
        };
        apply(&rule, state, outcome, at_ms)
    }

    /// One round at `at_ms` over the rules `names`: query rules with the
    /// same source, window and delay are answered from one scan.
    pub async fn evaluate_round(&mut self, names: &[String], state: &mut Stored, at_ms: i64) -> Vec<Event> {
        let mut groups: Vec<(String, Vec<Rule>)> = Vec::new();
        let mut single = Vec::new();
        for name in names {
            let Some(rule) = self.rules.rule(name).cloned() else {
                continue;
            };
            if !matches!(rule.kind, RuleKind::Query { .. }) {
                single.push(rule.name.clone());
                continue;
            }
            let key = format!(
                "{:?}|{:?}|{}|{}|{}",
                rule.from, rule.lake, rule.format, rule.window_ms, rule.delay_ms
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, rules)) => rules.push(rule),
                None => groups.push((key, vec![rule])),
            }
        }
        let mut events = Vec::new();
        for (_, rules) in groups {
            if rules.len() == 1 {
                events.extend(self.evaluate(&rules[0].name, state, at_ms, None).await);
                continue;
            }
            let range = eval::window(&rules[0], at_ms);
            let outcomes = self.evaluate_shared(&rules, range, at_ms).await;
            for (rule, outcome) in rules.iter().zip(outcomes) {
                events.extend(apply(rule, state, outcome, at_ms));
            }
        }
        for name in single {
            events.extend(self.evaluate(&name, state, at_ms, None).await);
        }
        events
    }

    /// Rules of one source and window, from one scan.
    async fn evaluate_shared(
        &mut self,
        rules: &[Rule],
        range: TimeRange,
        at_ms: i64,
    ) -> Vec<Result<Vec<GroupRow>, String>> {
        let logs = match self.open(&rules[0], range, at_ms).await {
            Ok(l) => l,
            Err(e) => return rules.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut out: Vec<Option<Result<Vec<GroupRow>, String>>> = vec![None; rules.len()];
        let mut sqls = Vec::new();
        let mut asked = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            // Not checked apart (a planning per rule): the shared answer's
            // columns are checked as they are folded, and a rule whose
            // answer fails is checked then, for an error naming its key.
            if let Some(sql) = eval::sql_of(rule) {
                sqls.push(sql);
                asked.push(i);
            }
        }
        match crate::engine::QueryService::new(logs.clone()).query_shared(&sqls).await {
            Ok(answers) => {
                for (i, answer) in asked.into_iter().zip(answers) {
                    let RuleKind::Query { group_by, .. } = &rules[i].kind else {
                        continue;
                    };
                    out[i] = Some(match answer {
                        Ok(batches) => eval::fold(&batches, group_by),
                        // Asked alone, a failing rule gives its own error.
                        Err(_) => match eval::check(&rules[i], &logs).await {
                            Err(e) => Err(e),
                            Ok(()) => eval::evaluate(&rules[i], &logs).await,
                        },
                    });
                }
            }
            Err(_) => {
                for i in asked {
                    out[i] = Some(eval::evaluate(&rules[i], &logs).await);
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err("not evaluated".into())))
            .collect()
    }
}

/// Applies one evaluation's outcome to `rule`'s groups in `state`: the
/// groups step, and the messages of their transitions join the outbox.
fn apply(rule: &Rule, state: &mut Stored, outcome: Result<Vec<GroupRow>, String>, at_ms: i64) -> Vec<Event> {
    let name = rule.name.as_str();
    let range = eval::window(rule, at_ms);
    let rs = state.rules.entry(name.to_string()).or_default();
    rs.evaluated_ms = Some(at_ms);
    let mut events = Vec::new();
    let mut notices = Vec::new();
    let window = Window {
        since: rfc3339(range.since.unwrap_or(at_ms)),
        until: rfc3339(range.until.unwrap_or(at_ms)),
    };
    // The rule's own ERROR state coming or going: one message each way.
    let mut error_change = |sequence: u64, from: &str, to: &str, text: String| {
        events.push(Event {
            at_ms,
            rule: rule.name.clone(),
            group: ERROR_GROUP.into(),
            from: from.into(),
            to: to.into(),
            message: text.clone(),
        });
        notices.push(notice(
            rule,
            ERROR_GROUP,
            sequence,
            to,
            from,
            at_ms,
            &window,
            Default::default(),
            Default::default(),
            text,
        ));
    };
    match outcome {
        Err(why) => {
            // Notified once, never read as OK.
            if rs.error.is_none() {
                rs.error_sequence += 1;
                error_change(
                    rs.error_sequence,
                    "OK",
                    "ERROR",
                    format!("{}: cannot evaluate: {why}", rule.name),
                );
            }
            rs.error = Some(RuleError {
                since_ms: rs.error.as_ref().map_or(at_ms, |e| e.since_ms),
                message: why,
            });
        }
        Ok(rows) => {
            if rs.error.take().is_some() {
                rs.error_sequence += 1;
                error_change(
                    rs.error_sequence,
                    "ERROR",
                    "OK",
                    format!("{}: evaluates again", rule.name),
                );
            }
            let timing = Timing {
                pending_ms: rule.pending_ms,
                keep_firing_ms: rule.keep_firing_ms,
                missing: rule.missing,
            };
            let mut seen: BTreeMap<String, GroupRow> = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
            let keys: Vec<String> = rs.groups.keys().cloned().chain(seen.keys().cloned()).collect();
            let mut done = std::collections::BTreeSet::new();
            for key in keys {
                if !done.insert(key.clone()) {
                    continue;
                }
                let (evidence, group) = match seen.remove(&key) {
                    Some(r) => (
                        Evidence::Row {
                            fire: r.fire,
                            recover: r.recover,
                            values: r.values,
                        },
                        r.group,
                    ),
                    None => (Evidence::Absent, serde_json::Map::new()),
                };
                let st = rs.groups.entry(key.clone()).or_insert_with(|| state::GroupState {
                    since_ms: at_ms,
                    ..Default::default()
                });
                if let Some(tr) = step(timing, st, evidence, at_ms) {
                    // Ids stay unique per rule even when a group forgotten
                    // after a healthy week comes back.
                    let sequence = rs.last_sequence.max(tr.sequence - 1) + 1;
                    st.sequence = sequence;
                    rs.last_sequence = sequence;
                    let mut group = group;
                    if group.is_empty() {
                        group = group_of(&key);
                    }
                    let text = message_text(rule, &key, tr.to, &group, &st.values);
                    events.push(Event {
                        at_ms,
                        rule: rule.name.clone(),
                        group: key.clone(),
                        from: tr.from.as_str().into(),
                        to: tr.to.as_str().into(),
                        message: text.clone(),
                    });
                    notices.push(notice(
                        rule,
                        &key,
                        sequence,
                        tr.to.as_str(),
                        tr.from.as_str(),
                        at_ms,
                        &window,
                        group,
                        st.values.clone(),
                        text,
                    ));
                }
            }
            // Healthy groups unseen for a week are forgotten; failing
            // ones never are.
            rs.groups
                .retain(|_, g| g.phase != Phase::Ok || g.seen_ms.is_some_and(|s| at_ms - s < 7 * 86_400_000));
        }
    }
    for n in notices {
        for notifier in &rule.notify {
            state.outbox.push(Message {
                id: n.id.clone(),
                notifier: notifier.clone(),
                body: n.clone(),
                attempts: 0,
                next_attempt_ms: 0,
                last_error: None,
            });
        }
    }
    events
}

impl Watcher {
    async fn evaluate_query(
        &mut self,
        rule: &Rule,
        range: TimeRange,
        at_ms: i64,
        logs: Option<&LogSet>,
    ) -> Result<Vec<GroupRow>, String> {
        let logs = match logs {
            Some(l) => l.with_range(range),
            None => self.open(rule, range, at_ms).await?,
        };
        if !self.checked.get(&rule.name).copied().unwrap_or(false) {
            eval::check(rule, &logs).await?;
            self.checked.insert(rule.name.clone(), true);
        }
        eval::evaluate(rule, &logs).await
    }

    /// The rules due at `at_ms` (never evaluated, or `every` since the last
    /// evaluation).
    pub fn due(&self, state: &Stored, at_ms: i64) -> Vec<String> {
        self.rules
            .rules
            .iter()
            .filter(|r| {
                state
                    .rules
                    .get(&r.name)
                    .and_then(|s| s.evaluated_ms)
                    .is_none_or(|last| at_ms - last >= r.every_ms)
            })
            .map(|r| r.name.clone())
            .collect()
    }

    /// A backtest: every rule evaluated at each of its `every` steps from
    /// `since` to `until`, on fresh state; no message is sent. Each rule's
    /// source is opened once over the whole span.
    pub async fn replay(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<Event>, String> {
        let mut state = Stored::default();
        let mut events = Vec::new();
        for rule in self.rules.rules.clone() {
            let span = TimeRange {
                since: eval::window(&rule, since_ms).since,
                until: eval::window(&rule, until_ms).until,
            };
            let logs = match rule.kind {
                RuleKind::Query { .. } => Some(
                    self.open(&rule, span, until_ms)
                        .await
                        .map_err(|e| format!("rule {:?}: key \"from\": {e}", rule.name))?,
                ),
                RuleKind::MissingUpload { .. } => None,
            };
            let mut at = since_ms;
            while at < until_ms {
                events.extend(self.evaluate(&rule.name, &mut state, at, logs.as_ref()).await);
                at += rule.every_ms;
            }
        }
        events.sort_by(|a, b| (a.at_ms, &a.rule, &a.group).cmp(&(b.at_ms, &b.rule, &b.group)));
        Ok(events)
    }
}

/// A group's values from its key, for a group known only by its key.
fn group_of(key: &str) -> serde_json::Map<String, serde_json::Value> {
    key.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn notice(
    rule: &Rule,
    key: &str,
    sequence: u64,
    to: &str,
    from: &str,
    at_ms: i64,
    window: &Window,
    group: serde_json::Map<String, serde_json::Value>,
    values: serde_json::Map<String, serde_json::Value>,
    message: String,
) -> Notice {
    Notice {
        id: format!("{}/{key}/{sequence}", rule.name),
        rule: rule.name.clone(),
        group_key: key.to_string(),
        group,
        state: to.to_string(),
        previous: from.to_string(),
        at: rfc3339(at_ms),
        window: window.clone(),
        values,
        labels: rule.labels.clone(),
        message,
    }
}

/// The rule's message with `{{name}}` replaced by the group's values (and
/// `{{rule}}`, `{{group}}`, `{{state}}`); without a template, a plain one.
pub fn message_text(
    rule: &Rule,
    key: &str,
    to: Phase,
    group: &serde_json::Map<String, serde_json::Value>,
    values: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let state = match to {
        Phase::Ok => "resolved",
        Phase::Pending => "pending",
        Phase::Firing => "firing",
    };
    let Some(template) = &rule.message else {
        let shown: Vec<String> = values
            .iter()
            .filter(|(k, _)| !group.contains_key(*k))
            .map(|(k, v)| format!("{k}={}", eval::shown(v)))
            .collect();
        return format!("{} [{key}] {state}: {}", rule.name, shown.join(" "));
    };
    let mut out = String::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        let value = match name {
            "rule" => rule.name.clone(),
            "group" => key.to_string(),
            "state" => state.to_string(),
            _ => values
                .get(name)
                .or_else(|| group.get(name))
                .map(eval::shown)
                .unwrap_or_else(|| format!("{{{{{name}}}}}")),
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if to == Phase::Ok {
        format!("resolved: {out}")
    } else {
        out
    }
}

/// RFC 3339 UTC, to the second.
pub fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Backoff before try `attempts + 1`: 1 s doubling to 5 min, with up to
/// a quarter of jitter.
pub fn backoff_ms(attempts: u32) -> i64 {
    let base = 1000i64.saturating_mul(1i64 << attempts.min(9)).min(300_000);
    base + rand::random_range(0..=base / 4)
}

/// What delivery did with one message.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message's id and notifier.
    pub id: String,
    /// Its notifier.
    pub notifier: String,
    /// How the try went.
    pub outcome: notify::Outcome,
}

/// Tries each message of the outbox whose time has come (one try each),
/// Slack webhooks at most one message per second; delivered and refused
/// ones leave the outbox, the others wait their backoff.
pub async fn deliver_due(
    rules: &Rules,
    client: &reqwest::Client,
    state: &mut Stored,
    now_ms: impl Fn() -> i64,
    last_slack: &mut HashMap<String, std::time::Instant>,
) -> Vec<Delivery> {
    let mut done = Vec::new();
    let mut keep = Vec::new();
    let outbox = std::mem::take(&mut state.outbox);
    // A notifier that failed in this pass is not tried again in it: its
    // later messages wait, in order.
    let mut down: std::collections::HashSet<String> = std::collections::HashSet::new();
    for mut msg in outbox {
        if msg.next_attempt_ms > now_ms() || down.contains(&msg.notifier) {
            // Later messages to this notifier wait behind it: in order.
            down.insert(msg.notifier.clone());
            keep.push(msg);
            continue;
        }
        let Some(conf) = rules.notifiers.get(&msg.notifier) else {
            done.push(Delivery {
                id: msg.id.clone(),
                notifier: msg.notifier.clone(),
                outcome: notify::Outcome::Failed(format!("no notifier {} in the rules file", msg.notifier)),
            });
            continue;
        };
        if conf.kind == "slack"
            && let Some(last) = last_slack.get(&msg.notifier)
        {
            let wait = std::time::Duration::from_secs(1).saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
        }
        let outcome = notify::deliver(client, &msg.notifier, conf, &msg).await;
        if conf.kind == "slack" {
            last_slack.insert(msg.notifier.clone(), std::time::Instant::now());
        }
        msg.attempts += 1;
        match &outcome {
            notify::Outcome::Delivered | notify::Outcome::Failed(_) => {}
            notify::Outcome::Retry { after_ms, why } => {
                let wait = backoff_ms(msg.attempts - 1).max(after_ms.unwrap_or(0));
                msg.next_attempt_ms = now_ms().saturating_add(wait);
                msg.last_error = Some(why.clone());
                down.insert(msg.notifier.clone());
                keep.push(msg.clone());
            }
        }
        done.push(Delivery {
            id: msg.id,
            notifier: msg.notifier,
            outcome,
        });
    }
    // Messages a round added meanwhile stay behind these.
    keep.append(&mut state.outbox);
    state.outbox = keep;
    done
}

/// Puts what a delivery pass over a copy of the outbox did into `state`:
/// delivered and refused messages leave, retried ones keep their new
/// schedule; messages added meanwhile stay as they are.
pub fn settle_deliveries(state: &mut Stored, tried: &Stored, done: &[Delivery]) {
    for d in done {
        let at = state
            .outbox
            .iter()
            .position(|m| m.id == d.id && m.notifier == d.notifier);
        let Some(at) = at else { continue };
        match d.outcome {
            notify::Outcome::Delivered | notify::Outcome::Failed(_) => {
                state.outbox.remove(at);
            }
            notify::Outcome::Retry { .. } => {
                if let Some(m) = tried.outbox.iter().find(|m| m.id == d.id && m.notifier == d.notifier) {
                    state.outbox[at] = m.clone();
                }
            }
        }
    }
}

/// Messages about operations (`ingest --notify`, `lake retain --notify`):
/// sent at once through named notifiers, retried a few times (about 15 s
/// at most), never holding up or failing the operation.
pub struct Announcer {
    rules: Rules,
    names: Vec<String>,
    client: reqwest::Client,
    started_ms: i64,
    /// When each Slack webhook last got a message (one per second).
    last_slack: tokio::sync::Mutex<HashMap<String, std::time::Instant>>,
}

impl Announcer {
    /// The notifiers `names` of the rules file at `path`; a name it does
    /// not define is an error naming it.
    pub fn open(path: &str, names: Vec<String>, now_ms: i64) -> Result<Announcer, String> {
        let rules = Rules::load_notifiers(path).map_err(|e| e.0)?;
        for n in &names {
            if !rules.notifiers.contains_key(n) {
                return Err(format!("--notify {n}: {path} defines no [notifier.{n}]"));
            }
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("cannot set up HTTP: {}", e.without_url()))?;
        Ok(Announcer {
            rules,
            names,
            client,
            started_ms: now_ms,
            last_slack: Default::default(),
        })
    }

    /// Sends `text` about `operation` on `subject` (a lake) as `state`
    /// (STARTED, DONE, FAILED) to every notifier; what could not be
    /// delivered comes back.
    pub async fn say(&self, operation: &str, subject: &str, state: &str, text: &str, at_ms: i64) -> Vec<Delivery> {
        let id = format!(
            "{operation}/{subject}/{}-{}",
            self.started_ms,
            state.to_ascii_lowercase()
        );
        let body = Notice {
            id: id.clone(),
            rule: operation.to_string(),
            group_key: subject.to_string(),
            group: serde_json::Map::new(),
            state: state.to_string(),
            previous: String::new(),
            at: rfc3339(at_ms),
            window: Window {
                since: rfc3339(self.started_ms),
                until: rfc3339(at_ms),
            },
            values: serde_json::Map::new(),
            labels: BTreeMap::new(),
            message: text.to_string(),
        };
        let mut state = Stored::default();
        for n in &self.names {
            state.outbox.push(Message {
                id: id.clone(),
                notifier: n.clone(),
                body: body.clone(),
                attempts: 0,
                next_attempt_ms: 0,
                last_error: None,
            });
        }
        let mut failed = Vec::new();
        let mut slack = self.last_slack.lock().await;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let now = || chrono::Utc::now().timestamp_millis();
        while !state.outbox.is_empty() {
            let done = deliver_due(&self.rules, &self.client, &mut state, now, &mut slack).await;
            failed.extend(
                done.into_iter()
                    .filter(|d| matches!(d.outcome, notify::Outcome::Failed(_))),
            );
            let Some(next) = state.outbox.iter().map(|m| m.next_attempt_ms).min() else {
                break;
            };
            let wait = std::time::Duration::from_millis((next - now()).max(0).unsigned_abs());
            if std::time::Instant::now() + wait > until {
                failed.extend(state.outbox.iter().map(|m| Delivery {
                    id: m.id.clone(),
                    notifier: m.notifier.clone(),
                    outcome: notify::Outcome::Failed(m.last_error.clone().unwrap_or_default()),
                }));
                break;
            }
            tokio::time::sleep(wait).await;
        }
        failed
    }
}

/// Whether any group of `state` is FIRING or any rule fails.
pub fn anything_firing(state: &Stored) -> bool {
    state
        .rules
        .values()
        .any(|r| r.error.is_some() || r.groups.values().any(|g| g.phase == Phase::Firing))
}
