//! `edgelog watch` (evaluate rules, notify transitions; once, a replay, a
//! check, rule tests) and `edgelog alerts` (the state of every group).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms};
use crate::alert::rules::Rules;
use crate::alert::store::{StateDir, Stored, read_state};
use crate::alert::{Delivery, Event, Watcher, anything_firing, deliver_due, notify::Outcome, rfc3339};
use crate::config::{StorageOptions, parse_time_arg};
use crate::report::render::clean;

/// Flags of `edgelog watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The rules file (TOML): [notifier.NAME] tables and [[rule]] tables.
    #[arg(long, value_name = "FILE")]
    rules: String,
    /// Where group states and undelivered messages are kept [default: ~/.local/state/edgelog/RULES-HASH].
    #[arg(long, value_name = "DIR")]
    state: Option<String>,
    /// One round now (or at --at), deliver, and exit: 1 if any group is FIRING or any rule fails.
    #[arg(long, conflicts_with_all = ["replay", "check", "test"])]
    once: bool,
    /// The time of the --once round (ISO 8601), instead of now.
    #[arg(long, value_name = "TIME", requires = "once")]
    at: Option<String>,
    /// Backtest over --since .. --until: the transitions each rule would have made; nothing is sent or kept.
    #[arg(long, conflicts_with_all = ["check", "test"])]
    replay: bool,
    /// Parse the rules and plan every query; exit 2 with one line naming rule and key on a mistake.
    #[arg(long, conflicts_with = "test")]
    check: bool,
    /// Unit tests of the rules (TOML): log lines in, expected states out.
    #[arg(long, value_name = "FILE")]
    test: Option<String>,
    /// How long --once waits for deliveries that are retried before leaving them for the next run.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    deliver_for: String,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// Flags of `edgelog alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The rules file the state belongs to.
    #[arg(long, value_name = "FILE")]
    rules: String,
    /// The state folder given to `watch --state`.
    #[arg(long, value_name = "DIR")]
    state: Option<String>,
}

/// `--notify NAME --notifiers FILE` of `ingest` and `lake retain`: a start
/// and a result message through the rules file's notifiers.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Post a start and a result message (or the error) through this notifier of --notifiers. Repeatable.
    #[arg(long = "notify", value_name = "NAME", requires = "notifiers")]
    notify: Vec<String>,
    /// The rules file whose [notifier.NAME] tables --notify names.
    #[arg(long, value_name = "FILE")]
    notifiers: Option<String>,
}

/// Operations announced through notifiers (nothing when `--notify` is not given).
pub struct Ops {
    announcer: Option<crate::alert::Announcer>,
    operation: &'static str,
    subject: String,
}

impl NotifyArgs {
    /// Checks the names against the file now, before any work.
    pub fn open(&self, operation: &'static str, subject: &str) -> Result<Ops> {
        let announcer = match (&self.notifiers, self.notify.is_empty()) {
            (Some(path), false) => {
                Some(crate::alert::Announcer::open(path, self.notify.clone(), now_ms()).map_err(anyhow::Error::msg)?)
            }
            _ => None,
        };
        Ok(Ops {
            announcer,
            operation,
            subject: subject.to_string(),
        })
    }
}

impl Ops {
    /// Sends `text` as `state` (STARTED, DONE, FAILED); a message that could
    /// not be delivered is reported on stderr and changes nothing else.
    pub async fn say(&self, state: &str, text: &str) {
        let Some(a) = &self.announcer else { return };
        for d in a.say(self.operation, &self.subject, state, text, now_ms()).await {
            if let Outcome::Failed(why) = &d.outcome {
                eprintln!("edgelog: {} message not delivered: {}", d.notifier, clean(why));
            }
        }
    }
}

/// The storage flags of `scope` (locations come from the rules).
fn storage(mut scope: ScopeArgs) -> Result<StorageOptions> {
    scope.from = vec!["-".into()];
    scope.since = None;
    scope.until = None;
    scope.last = None;
    let (request, _) = scope.into_request(now_ms())?;
    Ok(request.storage)
}

fn time_flag(flag: &str, text: &str) -> Result<i64> {
    match parse_time_arg(text, 0, now_ms()) {
        Some(ms) => Ok(ms),
        None => bail!("bad --{flag} {text:?}: use ISO 8601 such as 2024-11-27T10:00:00Z"),
    }
}

fn print_events(events: &[Event], header: bool) {
    if header {
        println!("at\trule\tgroup\tfrom\tto\tmessage");
    }
    for e in events {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            rfc3339(e.at_ms),
            clean(&e.rule),
            clean(&e.group),
            e.from,
            e.to,
            clean(&e.message)
        );
    }
}

fn report_deliveries(done: &[Delivery], quiet: bool) {
    for d in done {
        match &d.outcome {
            Outcome::Delivered if !quiet => eprintln!("sent {} to {}", clean(&d.id), clean(&d.notifier)),
            Outcome::Delivered => {}
            Outcome::Failed(why) => eprintln!("edgelog: {} not delivered: {}", clean(&d.id), clean(why)),
            Outcome::Retry { why, .. } if !quiet => {
                eprintln!("edgelog: {} will be retried: {}", clean(&d.id), clean(why))
            }
            Outcome::Retry { .. } => {}
        }
    }
}

pub async fn run(args: WatchArgs) -> Result<ExitCode> {
    let rules = Rules::load(&args.rules)?;
    let quiet = args.scope.quiet;
    let replay_range = (args.scope.since.clone(), args.scope.until.clone());
    let storage = storage(args.scope)?;
    let mut watcher = Watcher::new(rules, storage);
    if args.check {
        watcher.check_all(now_ms()).await.map_err(anyhow::Error::msg)?;
        println!("ok: {} rules", watcher.rules.rules.len());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(tests) = &args.test {
        return run_tests(&watcher.rules, tests).await;
    }
    if args.replay {
        let (Some(since), Some(until)) = replay_range else {
            bail!("--replay needs --since and --until");
        };
        let (since, until) = (time_flag("since", &since)?, time_flag("until", &until)?);
        if since >= until {
            bail!("--since must be before --until");
        }
        let events = watcher.replay(since, until).await.map_err(anyhow::Error::msg)?;
        print_events(&events, true);
        if !quiet {
            eprintln!("{} transitions", events.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let dir = match &args.state {
        Some(d) => std::path::PathBuf::from(d),
        None => StateDir::default_for(&args.rules),
    };
    let dir = StateDir::open(&dir).map_err(anyhow::Error::msg)?;
    let state = dir.load().map_err(anyhow::Error::msg)?;
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot set up HTTP: {}", e.without_url()))?;
    if args.once {
        let deliver_for = crate::config::parse_duration_ms(&args.deliver_for)
            .filter(|ms| *ms >= 0)
            .ok_or_else(|| anyhow::anyhow!("bad --deliver-for {:?}: use e.g. 30s", args.deliver_for))?;
        let at = match &args.at {
            Some(t) => time_flag("at", t)?,
            None => now_ms(),
        };
        return once(watcher, dir, state, client, at, deliver_for, quiet).await;
    }
    watch(watcher, dir, state, client, quiet).await
}

/// One round at `at`, saved, then deliveries for up to `deliver_for`.
async fn once(
    mut watcher: Watcher,
    dir: StateDir,
    mut state: Stored,
    client: reqwest::Client,
    at: i64,
    deliver_for: i64,
    quiet: bool,
) -> Result<ExitCode> {
    let names: Vec<String> = watcher.rules.rules.iter().map(|r| r.name.clone()).collect();
    let events = watcher.evaluate_round(&names, &mut state, at).await;
    dir.save(&state).map_err(anyhow::Error::msg)?;
    print_events(&events, false);
    let until = std::time::Instant::now() + Duration::from_millis(deliver_for.unsigned_abs());
    let mut slack = HashMap::new();
    loop {
        let done = deliver_due(&watcher.rules, &client, &mut state, now_ms, &mut slack).await;
        dir.save(&state).map_err(anyhow::Error::msg)?;
        report_deliveries(&done, quiet);
        let Some(next) = state.outbox.iter().map(|m| m.next_attempt_ms).min() else {
            break;
        };
        let wait = Duration::from_millis((next - now_ms()).max(0).unsigned_abs());
        if std::time::Instant::now() + wait > until {
            if !quiet {
                eprintln!(
                    "edgelog: {} messages wait in the outbox for the next run",
                    state.outbox.len()
                );
            }
            break;
        }
        tokio::time::sleep(wait).await;
    }
    let firing = anything_firing(&state);
    if !quiet {
        let groups: usize = state.rules.values().map(|r| r.groups.len()).sum();
        eprintln!(
            "{} rules evaluated at {}, {groups} groups, {}",
            watcher.rules.rules.len(),
            rfc3339(at),
            if firing {
                "something is FIRING"
            } else {
                "nothing firing"
            }
        );
    }
    Ok(if firing { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Until stopped: each rule on its schedule, and deliveries on their own
/// task so that a notifier that is down never holds up an evaluation.
pub(super) async fn watch(
    mut watcher: Watcher,
    dir: StateDir,
    state: Stored,
    client: reqwest::Client,
    quiet: bool,
) -> Result<ExitCode> {
    let dir = Arc::new(dir);
    let state = Arc::new(tokio::sync::Mutex::new(state));
    let wake = Arc::new(tokio::sync::Notify::new());
    let rules = Arc::new(watcher.rules.clone());
    let sender = {
        let (dir, state, wake, rules) = (dir.clone(), state.clone(), wake.clone(), rules.clone());
        tokio::spawn(async move {
            let mut slack = HashMap::new();
            loop {
                // Try what is due on a copy: the round's lock is not held
                // while a receiver is slow.
                let mut tried = {
                    let s = state.lock().await;
                    Stored {
                        outbox: s.outbox.clone(),
                        ..Stored::default()
                    }
                };
                let done = deliver_due(&rules, &client, &mut tried, now_ms, &mut slack).await;
                let next = {
                    let mut s = state.lock().await;
                    crate::alert::settle_deliveries(&mut s, &tried, &done);
                    if !done.is_empty()
                        && let Err(e) = dir.save(&s)
                    {
                        eprintln!("edgelog: {e}");
                    }
                    s.outbox.iter().map(|m| m.next_attempt_ms).min()
                };
                report_deliveries(&done, quiet);
                // A long-running watcher sends its spans as it goes.
                let _ = crate::trace::flush(Duration::from_secs(5)).await;
                let wait = next.map_or(Duration::from_secs(3600), |n| {
                    Duration::from_millis((n - now_ms()).clamp(0, 3_600_000).unsigned_abs())
                });
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = wake.notified() => {}
                }
            }
        })
    };
    if !quiet {
        eprintln!(
            "watching {} rules; state in {}",
            watcher.rules.rules.len(),
            dir.path().display()
        );
    }
    let outcome: Result<ExitCode> = async {
        loop {
            if sender.is_finished() {
                bail!("the delivery task stopped; messages wait in the outbox for the next run");
            }
            let now = now_ms();
            let due = {
                let s = state.lock().await;
                watcher.due(&s, now)
            };
            if !due.is_empty() {
                // The due rules' states are evaluated apart and put back:
                // deliveries go on meanwhile.
                let mut part = {
                    let s = state.lock().await;
                    let mut part = Stored::default();
                    for name in &due {
                        if let Some(r) = s.rules.get(name) {
                            part.rules.insert(name.clone(), r.clone());
                        }
                    }
                    part
                };
                let events = watcher.evaluate_round(&due, &mut part, now).await;
                {
                    let mut s = state.lock().await;
                    for name in &due {
                        if let Some(r) = part.rules.remove(name) {
                            s.rules.insert(name.clone(), r);
                        }
                    }
                    s.outbox.append(&mut part.outbox);
                    dir.save(&s).map_err(anyhow::Error::msg)?;
                }
                print_events(&events, false);
                if !events.is_empty() {
                    wake.notify_one();
                }
                let _ = crate::trace::flush(Duration::from_secs(5)).await;
            }
            let next = {
                let s = state.lock().await;
                watcher
                    .rules
                    .rules
                    .iter()
                    .map(|r| {
                        s.rules
                            .get(&r.name)
                            .and_then(|x| x.evaluated_ms)
                            .map_or(now, |l| l + r.every_ms)
                    })
                    .min()
                    .unwrap_or(now + 60_000)
            };
            tokio::time::sleep(Duration::from_millis(
                (next - now_ms()).clamp(200, 60_000).unsigned_abs(),
            ))
            .await;
        }
    }
    .await;
    sender.abort();
    outcome
}

pub async fn run_alerts(args: AlertsArgs) -> Result<ExitCode> {
    let rules = Rules::load(&args.rules)?;
    let dir = match &args.state {
        Some(d) => std::path::PathBuf::from(d),
        None => StateDir::default_for(&args.rules),
    };
    let state = read_state(&dir).map_err(anyhow::Error::msg)?;
    println!("rule\tgroup\tstate\tsince\tlast_seen\tvalues");
    for rule in &rules.rules {
        let Some(rs) = state.rules.get(&rule.name) else {
            println!("{}\t-\tNOT_EVALUATED\t-\t-\t-", clean(&rule.name));
            continue;
        };
        if let Some(err) = &rs.error {
            println!(
                "{}\t{}\tERROR\t{}\t-\t{}",
                clean(&rule.name),
                crate::alert::ERROR_GROUP,
                rfc3339(err.since_ms),
                clean(&err.message)
            );
        }
        for (key, g) in &rs.groups {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                clean(&rule.name),
                clean(key),
                g.phase.as_str(),
                rfc3339(g.since_ms),
                g.seen_ms.map_or("-".into(), rfc3339),
                clean(&g.values_text())
            );
        }
    }
    if !state.outbox.is_empty() {
        eprintln!("{} messages wait in the outbox", state.outbox.len());
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_tests(rules: &Rules, path: &str) -> Result<ExitCode> {
    let tests = crate::alert::ruletest::RuleTests::load(path).map_err(anyhow::Error::msg)?;
    let outcomes = tests.run(rules).await.map_err(anyhow::Error::msg)?;
    let mut failed = 0;
    for o in &outcomes {
        match &o.failure {
            None => println!("ok\t{}", clean(&o.name)),
            Some(why) => {
                failed += 1;
                println!("FAILED\t{}\t{}", clean(&o.name), clean(why));
            }
        }
    }
    eprintln!("{} tests, {failed} failed", outcomes.len());
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
