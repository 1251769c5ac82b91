//! Alerts end to end: the real binary evaluating rules over genlogs.py data
//! (with a 5xx burst put into one host's hour), webhooks received by a real
//! listener on 127.0.0.1 (signatures checked), rounds as separate processes
//! (restarts), `kill -9` mid-round, a receiver that fails and goes away,
//! missing uploads on the S3 test server, bad rules files and rule tests.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Cmd, Run, shared_dir};

#[path = "../support/webhook.rs"]
pub mod webhook;

use webhook::Receiver;

const HOST_A: &str = "example.user.webaccel.jp";
const HOST_B: &str = "site1.user.webaccel.jp";
const HMAC_KEY: &str = "edgelog-hmac-key-never-printed";

/// Two hosts, 14 hours of 3000 lines from 2024-11-27T00:00+09:00;
/// about 0.85% of genlogs' statuses are 5xx.
fn logs(root: &Path) -> PathBuf {
    let out = root.join("logs");
    let status = Command::new("python3")
        .arg(shared_dir().join("bench/genlogs.py"))
        .arg(&out)
        .args([
            "--hosts",
            "2",
            "--hours",
            "14",
            "--lines-per-hour",
            "3000",
            "--seed",
            "3",
            "--jobs",
            "2",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn object(logs: &Path, host: &str, hour: u32) -> PathBuf {
    logs.join(format!(
        "sakura-webaccelerator/{host}/2024/11/27/access-20241127T{hour:02}.log.gz"
    ))
}

/// Rewrites the lines of one object: `edit` gets each record and says
/// whether to keep it.
fn rewrite(path: &Path, mut edit: impl FnMut(usize, &mut serde_json::Value) -> bool) {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for (i, line) in text.lines().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if edit(i, &mut v) {
            writeln!(out, "{v}").unwrap();
        }
    }
    std::fs::write(path, out.finish().unwrap()).unwrap();
}

/// Host A answers 503 to 3 requests in 10 from 10:00 to 10:40 (JST).
fn burst(logs: &Path) {
    rewrite(&object(logs, HOST_A, 10), |i, v| {
        if v["time"].as_str().unwrap() < "2024-11-27T10:40:00+09:00" && i % 10 < 3 {
            v["status"] = "503".into();
        }
        true
    });
}

fn rules(dir: &Path, logs: &Path, rules: &[(&str, &str)]) -> String {
    let mut text = String::from(
        r#"
[notifier.hook]
kind = "webhook"
url_env = "HOOK_URL"
hmac_secret_env = "HOOK_KEY"

[notifier.steady]
kind = "webhook"
url_env = "STEADY_URL"
"#,
    );
    for (name, notify) in rules {
        text.push_str(&format!(
            r#"
[[rule]]
name = "{name}"
from = ["{}"]
format = "sakura"
every = "5m"
window = "15m"
query = """SELECT host, count(*) AS requests,
                  avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio_5xx
           FROM logs GROUP BY host"""
group_by = ["host"]
fire = "ratio_5xx > 0.05 AND requests >= 100"
recover = "ratio_5xx < 0.02"
pending = "5m"
notify = ["{notify}"]
labels = {{ team = "web" }}
message = "{{{{host}}}}: 5xx ratio {{{{ratio_5xx}}}} over {{{{requests}}}} requests"
"#,
            logs.display()
        ));
    }
    let path = dir.join("alerts.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The times of a round every 5 minutes from `from` to `to` (JST hours).
fn rounds(from: (u32, u32), to: (u32, u32)) -> Vec<String> {
    let mut out = Vec::new();
    let (mut h, mut m) = from;
    while (h, m) < to {
        out.push(format!("2024-11-27T{h:02}:{m:02}:00+09:00"));
        m += 5;
        if m == 60 {
            h += 1;
            m = 0;
        }
    }
    out
}

/// `at rule group from to` of each transition line (message left out).
fn transitions(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with("at\t"))
        .map(|l| l.split('\t').take(5).collect::<Vec<_>>().join(" "))
        .collect()
}

fn watch(args: &[&str], hook: &Receiver, steady: Option<&Receiver>) -> Cmd {
    let mut all = vec!["watch"];
    all.extend_from_slice(args);
    let cmd = Cmd::new(all)
        .env("HOOK_URL", hook.url("/hook"))
        .env("HOOK_KEY", HMAC_KEY);
    match steady {
        Some(s) => cmd.env("STEADY_URL", s.url("/steady")),
        None => cmd.env("STEADY_URL", "http://127.0.0.1:9/unused"),
    }
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    ring::hmac::sign(&key, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const RULE: &str = "5xx ratio per host";

/// The burst: one FIRING and one resolved message for host A, nothing for
/// B, in a replay and in rounds run one process after another (each a
/// restart) alike; the webhooks carry stable ids and valid signatures.
#[test]
fn a_burst_fires_and_recovers_once_in_a_replay_and_in_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    burst(&logs);
    let rules = rules(tmp.path(), &logs, &[(RULE, "hook")]);
    let hook = Receiver::start();
    let replay = watch(
        &[
            "--rules",
            &rules,
            "--replay",
            "--since",
            "2024-11-27T08:00:00+09:00",
            "--until",
            "2024-11-27T13:00:00+09:00",
        ],
        &hook,
        None,
    )
    .run();
    let expected = vec![
        format!("2024-11-27T01:10:00Z {RULE} host={HOST_A} PENDING FIRING"),
        format!("2024-11-27T01:55:00Z {RULE} host={HOST_A} FIRING OK"),
    ];
    assert_eq!(transitions(replay.ok()), expected, "{}", replay.stdout);
    assert!(hook.received().is_empty(), "a replay sends nothing");

    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let mut seen = Vec::new();
    // Each delivery is a `notify` span under the command's span.
    let otlp = Receiver::start();
    for at in rounds((8, 0), (13, 0)) {
        let run = watch(
            &["--rules", &rules, "--state", state, "--once", "--at", &at, "-q"],
            &hook,
            None,
        )
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url(""))
        .run();
        let firing = at.as_str() >= "2024-11-27T10:10" && at.as_str() < "2024-11-27T10:55";
        assert_eq!(run.code, i32::from(firing), "{at}: {}", run.stderr);
        seen.extend(transitions(&run.stdout));
    }
    assert_eq!(seen, expected);
    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:?}");
    for (r, (state, seq)) in got.iter().zip([("FIRING", 1), ("OK", 2)]) {
        let v = r.json();
        assert_eq!(r.path, "/hook");
        assert_eq!(v["state"], state);
        assert_eq!(v["id"], format!("{RULE}/host={HOST_A}/{seq}"));
        assert_eq!(r.header("x-edgelog-id"), v["id"].as_str());
        assert_eq!(v["group"]["host"], HOST_A);
        assert_eq!(v["labels"]["team"], "web");
        assert!(v["values"]["requests"].as_i64().unwrap() >= 100);
        let signature = format!("sha256={}", hmac_hex(HMAC_KEY, &r.body));
        assert_eq!(r.header("x-edgelog-signature"), Some(signature.as_str()));
    }
    assert!(
        got[0].json()["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{HOST_A}: 5xx ratio 0."))
    );

    let spans: Vec<serde_json::Value> = otlp
        .received()
        .iter()
        .inspect(|r| {
            let text = String::from_utf8_lossy(&r.body);
            assert!(
                !text.contains(HMAC_KEY) && !text.contains("/hook"),
                "a secret in a span: {text}"
            );
        })
        .flat_map(|r| {
            let v = r.json();
            let mut out = Vec::new();
            for rs in v["resourceSpans"].as_array().cloned().unwrap_or_default() {
                for ss in rs["scopeSpans"].as_array().cloned().unwrap_or_default() {
                    out.extend(ss["spans"].as_array().cloned().unwrap_or_default());
                }
            }
            out
        })
        .collect();
    let notify: Vec<&serde_json::Value> = spans.iter().filter(|s| s["name"] == "notify").collect();
    assert_eq!(notify.len(), 2, "one notify span per delivery: {spans:?}");
    for n in notify {
        let parent = spans
            .iter()
            .find(|s| s["spanId"] == n["parentSpanId"])
            .expect("the notify span's parent was exported");
        assert_eq!(parent["name"], "edgelog watch");
        assert!(n.to_string().contains("delivered"), "{n}");
    }

    let alerts = Cmd::new(["alerts", "--rules", &rules, "--state", state]).run();
    let table = alerts.ok();
    assert!(table.contains(&format!("{RULE}\thost={HOST_A}\tOK")), "{table}");
    assert!(table.contains(&format!("{RULE}\thost={HOST_B}\tOK")), "{table}");
    assert!(!table.contains(HMAC_KEY) && !alerts.stderr.contains(HMAC_KEY));
}

/// After the burst host A sends nothing more: its window empties, which is
/// no evidence of recovery (`missing = "keep"`), so it stays FIRING.
#[test]
fn an_emptied_window_recovers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    burst(&logs);
    rewrite(&object(&logs, HOST_A, 10), |_, v| {
        v["time"].as_str().unwrap() < "2024-11-27T10:40:00+09:00"
    });
    for hour in 11..14 {
        std::fs::remove_file(object(&logs, HOST_A, hour)).unwrap();
    }
    let rules = rules(tmp.path(), &logs, &[(RULE, "hook")]);
    let hook = Receiver::start();
    let replay = watch(
        &[
            "--rules",
            &rules,
            "--replay",
            "--since",
            "2024-11-27T09:00:00+09:00",
            "--until",
            "2024-11-27T13:00:00+09:00",
        ],
        &hook,
        None,
    )
    .run();
    assert_eq!(
        transitions(replay.ok()),
        vec![format!("2024-11-27T01:10:00Z {RULE} host={HOST_A} PENDING FIRING")]
    );
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let mut last = None;
    for at in rounds((10, 0), (12, 0)) {
        last = Some(
            watch(
                &["--rules", &rules, "--state", state, "--once", "--at", &at, "-q"],
                &hook,
                None,
            )
            .run(),
        );
    }
    assert_eq!(last.unwrap().code, 1, "still firing");
    let table = Cmd::new(["alerts", "--rules", &rules, "--state", state]).run();
    assert!(
        table.ok().contains(&format!("host={HOST_A}\tFIRING")),
        "{}",
        table.stdout
    );
    assert_eq!(hook.received().len(), 1);
}

/// `kill -9` at moments through a round, then the round again: every
/// transition's message arrives, none is lost, and a repeat (a kill
/// between a send and its record) carries the same id.
#[test]
fn a_round_killed_at_any_moment_loses_no_message() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    burst(&logs);
    let rules = rules(tmp.path(), &logs, &[(RULE, "hook")]);
    let hook = Receiver::start();
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    // How long a round takes here.
    let probe = tmp.path().join("probe");
    let started = std::time::Instant::now();
    watch(
        &[
            "--rules",
            &rules,
            "--state",
            probe.to_str().unwrap(),
            "--once",
            "--at",
            "2024-11-27T09:00:00+09:00",
            "-q",
        ],
        &hook,
        None,
    )
    .run();
    let took = started.elapsed();
    let mut kills = 0;
    for (k, at) in rounds((9, 50), (11, 0)).into_iter().enumerate() {
        let (mut c, _home) = watch(
            &["--rules", &rules, "--state", state, "--once", "--at", &at, "-q"],
            &hook,
            None,
        )
        .into_parts();
        let mut child = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took * (k as u32 % 10) / 10);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // The round again, whole.
        let again = watch(
            &["--rules", &rules, "--state", state, "--once", "--at", &at, "-q"],
            &hook,
            None,
        )
        .run();
        assert!(again.code == 0 || again.code == 1, "{}", again.stderr);
    }
    let got = hook.received();
    let ids: std::collections::BTreeSet<String> = got
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        [1, 2].iter().map(|s| format!("{RULE}/host={HOST_A}/{s}")).collect();
    assert_eq!(ids, expected, "{got:?}");
    assert!(got.len() <= 2 + kills, "{} messages for {kills} kills", got.len());
}

/// A receiver answers 500 three times, then 429 with `Retry-After: 2`,
/// then stops listening for a while: its message arrives once when it
/// comes back, and another rule's notifier gets its own message meanwhile.
#[test]
fn a_failing_receiver_gets_its_message_once_when_it_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    burst(&logs);
    let rules = rules(tmp.path(), &logs, &[(RULE, "hook"), ("5xx ratio, steady", "steady")]);
    let mut hook = Receiver::start();
    let steady = Receiver::start();
    hook.answer(&[(500, &[]), (500, &[]), (500, &[]), (429, &[("Retry-After", "2")])]);
    // After the 429, the receiver stops listening: connections are refused.
    hook.stop_after(4);
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let round = |at: &str, deliver_for: &str, hook: &Receiver| {
        watch(
            &[
                "--rules",
                &rules,
                "--state",
                state,
                "--once",
                "--at",
                at,
                "--deliver-for",
                deliver_for,
            ],
            hook,
            Some(&steady),
        )
        .run()
    };
    for at in rounds((10, 0), (10, 15)) {
        round(&at, "0s", &hook);
    }
    assert_eq!(steady.received().len(), 1, "the other rule's message went at once");
    assert_eq!(hook.received().len(), 1, "one try so far");
    // Tries until the 429 has been answered; then connections are refused.
    let started = std::time::Instant::now();
    while hook.received().len() < 4 {
        assert!(started.elapsed().as_secs() < 60, "{:?}", hook.received());
        round("2024-11-27T10:15:00+09:00", "20s", &hook);
    }
    // Refused: it waits in the outbox (the round itself still works).
    let run = round("2024-11-27T10:20:00+09:00", "0s", &hook);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let started = std::time::Instant::now();
    while !round("2024-11-27T10:20:00+09:00", "20s", &hook)
        .stderr
        .contains("cannot connect")
    {
        assert!(started.elapsed().as_secs() < 60, "never tried while refused");
    }
    let table = Cmd::new(["alerts", "--rules", &rules, "--state", state]).run();
    assert!(table.stderr.contains("messages wait in the outbox"), "{}", table.stderr);
    // Host A recovers while the receiver is still away: its OK waits
    // behind its FIRING, so they arrive in order.
    round("2024-11-27T10:55:00+09:00", "0s", &hook);
    hook.listen();
    let ok = |hook: &Receiver| hook.received().into_iter().filter(|r| r.status == 200).count();
    let started = std::time::Instant::now();
    while ok(&hook) < 2 {
        assert!(started.elapsed().as_secs() < 90, "{:?}", hook.received());
        round("2024-11-27T10:55:00+09:00", "20s", &hook);
    }
    round("2024-11-27T11:00:00+09:00", "5s", &hook);
    let got = hook.received();
    let delivered: Vec<String> = got
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        delivered,
        vec![format!("{RULE}/host={HOST_A}/1"), format!("{RULE}/host={HOST_A}/2")],
        "{got:?}"
    );
    // `Retry-After: 2` was honoured.
    assert!(got[4].at.duration_since(got[3].at).as_secs_f64() >= 2.0, "{got:?}");
    // Nothing of the second message went before the first was taken.
    let first_ok = got.iter().position(|r| r.status == 200).unwrap();
    assert!(
        got[..first_ok]
            .iter()
            .all(|r| r.json()["id"] == format!("{RULE}/host={HOST_A}/1"))
    );
    assert_eq!(steady.received().len(), 2, "the steady receiver got both at once");
    let hook_stderr = round("2024-11-27T11:05:00+09:00", "1s", &hook).stderr;
    assert!(!hook_stderr.contains(&hook.url("")) && !hook_stderr.contains(HMAC_KEY));
}

/// Rule mistakes are one line naming the rule and the key, exit 2; a rule
/// pasted with no-break spaces works.
#[test]
fn bad_rules_files_name_rule_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    let good = rules(tmp.path(), &logs, &[(RULE, "hook")]);
    let text = std::fs::read_to_string(&good).unwrap();
    let hook = Receiver::start();
    let check = |text: &str| {
        let path = tmp.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        watch(&["--rules", path.to_str().unwrap(), "--check"], &hook, None).run()
    };
    assert!(check(&text).ok().contains("ok: 1 rules"));
    let cases: Vec<(String, &str)> = vec![
        (text.replace("pending = ", "pendng = "), "pendng"),
        (
            text.replace("pending = \"5m\"", "pending = \"5 minutes\""),
            "\"pending\"",
        ),
        (
            text.replace("FROM logs GROUP", "FROM logs GRUP BY host GROUP"),
            "\"query\"",
        ),
        (
            text.replace("group_by = [\"host\"]", "group_by = [\"hostname\"]"),
            "\"group_by\"",
        ),
        (
            text.replace(
                "fire = \"ratio_5xx > 0.05 AND requests >= 100\"",
                "fire = \"ratio_5xx * 2\"",
            ),
            "\"fire\"",
        ),
        (
            text.replace("notify = [\"hook\"]", "notify = [\"pager\"]"),
            "\"notify\"",
        ),
    ];
    for (bad, key) in cases {
        let run = check(&bad);
        let err = run.error();
        assert!(
            err.contains(&format!("rule \"{RULE}\"")) && err.contains(key),
            "{key}: {err}"
        );
    }
    let pasted = text
        .replace("SELECT host", "SELECT\u{a0}host")
        .replace("GROUP BY", "GROUP\u{a0}BY");
    assert!(check(&pasted).ok().contains("ok: 1 rules"));
}

/// `--test`: log lines in, states out; the same tests fail once the rule's
/// threshold changes.
#[test]
fn rule_tests_pass_and_fail_when_the_rule_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    let rules_path = rules(tmp.path(), &logs, &[(RULE, "hook")]);
    let mut lines = String::new();
    for minute in 0..40 {
        for k in 0..20 {
            let status = if (10..25).contains(&minute) && k < 4 { 503 } else { 200 };
            lines.push_str(&format!(
                "{{\"time\":\"2024-11-27T10:{minute:02}:{k:02}+09:00\",\"http_host\":\"a.example\",\"remote_addr\":\"192.0.2.1\",\"request\":\"GET / HTTP/1.1\",\"status\":\"{status}\",\"bytes_sent\":\"100\"}}\n"
            ));
        }
    }
    let tests = format!(
        r#"
[[test]]
name = "a 15-minute burst fires after pending and recovers"
rule = "{RULE}"
since = "2024-11-27T10:00:00+09:00"
until = "2024-11-27T11:00:00+09:00"
lines = '''
{lines}'''
[[test.expect]]
at = "2024-11-27T10:10:00+09:00"
group = "host=a.example"
state = "OK"
[[test.expect]]
at = "2024-11-27T10:15:00+09:00"
group = "host=a.example"
state = "PENDING"
[[test.expect]]
at = "2024-11-27T10:20:00+09:00"
group = "host=a.example"
state = "FIRING"
[[test.expect]]
at = "2024-11-27T10:45:00+09:00"
group = "host=a.example"
state = "OK"
"#
    );
    let tests_path = tmp.path().join("tests.toml");
    std::fs::write(&tests_path, tests).unwrap();
    let hook = Receiver::start();
    let run = watch(
        &["--rules", &rules_path, "--test", tests_path.to_str().unwrap()],
        &hook,
        None,
    )
    .run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.starts_with("ok\t"), "{}", run.stdout);
    let changed = std::fs::read_to_string(&rules_path)
        .unwrap()
        .replace("ratio_5xx > 0.05", "ratio_5xx > 0.5");
    std::fs::write(&rules_path, changed).unwrap();
    let run = watch(
        &["--rules", &rules_path, "--test", tests_path.to_str().unwrap()],
        &hook,
        None,
    )
    .run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAILED") && run.stdout.contains("expected PENDING"),
        "{}",
        run.stdout
    );
}

/// Missing uploads over the S3 test server: one host's 13:00 object is
/// removed; after the grace period one alert for that host and hour; put
/// back, it resolves.
#[test]
fn a_missing_hourly_upload_fires_after_its_grace_and_resolves_when_it_arrives() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bucket")).unwrap();
    let server = crate::s3::server::S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    let logs = {
        let out = root.path().join("bucket");
        let status = Command::new("python3")
            .arg(shared_dir().join("bench/genlogs.py"))
            .arg(&out)
            .args(["--hosts", "3", "--hours", "16", "--lines-per-hour", "50", "--seed", "4"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        out
    };
    let gone = object(&logs, HOST_B, 13);
    let kept = root.path().join("kept.gz");
    std::fs::rename(&gone, &kept).unwrap();
    let hook = Receiver::start();
    let rules_path = root.path().join("uploads.toml");
    std::fs::write(
        &rules_path,
        r#"
[notifier.hook]
kind = "webhook"
url_env = "HOOK_URL"

[[rule]]
name = "hourly upload missing"
kind = "missing_upload"
from = ["s3://bucket/sakura-webaccelerator/"]
format = "sakura"
grace = "30m"
notify = ["hook"]
"#,
    )
    .unwrap();
    let state = root.path().join("state");
    let round = |at: &str| -> Run {
        Cmd::new([
            "watch",
            "--rules",
            rules_path.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--once",
            "--at",
            at,
            "-q",
        ])
        .env("HOOK_URL", hook.url("/hook"))
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_REGION", "jp-north-1")
        .run()
    };
    let before = round("2024-11-27T14:20:00+09:00");
    assert_eq!(before.code, 0, "within the grace: {}", before.stderr);
    assert!(hook.received().is_empty());
    let after = round("2024-11-27T14:31:00+09:00");
    assert_eq!(after.code, 1, "{}", after.stderr);
    let key = format!("host={HOST_B},hour=2024-11-27T04:00Z");
    assert_eq!(
        transitions(&after.stdout),
        vec![format!("2024-11-27T05:31:00Z hourly upload missing {key} OK FIRING")]
    );
    // Still missing later: no second message.
    assert_eq!(round("2024-11-27T15:31:00+09:00").code, 1);
    std::fs::rename(&kept, &gone).unwrap();
    let back = round("2024-11-27T15:40:00+09:00");
    assert_eq!(back.code, 0, "{}", back.stderr);
    let got = hook.received();
    let states: Vec<String> = got
        .iter()
        .map(|r| format!("{} {}", r.json()["group_key"], r.json()["state"]))
        .collect();
    assert_eq!(
        states,
        vec![format!("\"{key}\" \"FIRING\""), format!("\"{key}\" \"OK\"")]
    );
    // Listing only: no object was read.
    let reads: Vec<String> = server
        .take_requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /bucket/") && !r.contains("list-type"))
        .collect();
    assert!(reads.is_empty(), "{reads:#?}");
}

const KEY: &str = "AKIAEDGELOGALERT001";
const SECRET: &str = "edgelog-alert-secret-never-printed";

/// `ingest --notify` and `lake retain --notify`: a start and a result
/// message through a Slack notifier (a real listener), at most one per
/// second per webhook; a failed ingest says so; the webhook URL is a
/// secret and never shown.
#[test]
fn ingest_and_retain_post_their_start_and_result_to_slack() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    crate::harness::generate(&logs, 1, 3, 200, 0.0, 0.0);
    let slack = Receiver::start();
    let secret_path = "/services/T0001/B0001/EdgelogSlackSecret";
    let rules = tmp.path().join("ops.toml");
    std::fs::write(&rules, "[notifier.ops]\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n").unwrap();
    let lake = tmp.path().join("lake");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--notify", "ops", "--notifiers", rules.to_str().unwrap()]);
        Cmd::new(all).env("SLACK_URL", slack.url(secret_path)).run()
    };
    let ok = run(&[
        "ingest",
        "--from",
        logs.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ]);
    ok.ok();
    let bad = run(&[
        "ingest",
        "--from",
        tmp.path().join("nothing").to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ]);
    bad.error();
    let retain = run(&["lake", "retain", lake.to_str().unwrap()]);
    assert!(retain.error().contains("no tier policy"), "{}", retain.stderr);
    let got = slack.received();
    let texts: Vec<String> = got
        .iter()
        .map(|r| r.json()["blocks"][0]["text"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got.len(), 6, "{texts:#?}");
    assert!(
        texts[0].contains("*STARTED*") && texts[0].contains("ingest into"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("*DONE*") && texts[1].contains("ingested 3 objects"),
        "{}",
        texts[1]
    );
    assert!(texts[3].contains("*FAILED*"), "{}", texts[3]);
    assert!(
        texts[5].contains("*FAILED*") && texts[5].contains("no tier policy"),
        "{}",
        texts[5]
    );
    for r in &got {
        assert_eq!(r.path, secret_path);
        let v = r.json();
        assert_eq!(v["blocks"][0]["type"], "section");
        assert!(v["text"].as_str().is_some());
    }
    // One message per second per webhook, within one run.
    assert!(got[1].at.duration_since(got[0].at).as_millis() >= 990);
    for r in [&ok, &bad, &retain] {
        assert!(!r.stderr.contains("EdgelogSlackSecret") && !r.stdout.contains("EdgelogSlackSecret"));
    }
    let unknown = Cmd::new([
        "ingest",
        "--from",
        "x",
        "--lake",
        "y",
        "--notify",
        "pager",
        "--notifiers",
        rules.to_str().unwrap(),
    ])
    .run();
    assert!(unknown.error().contains("pager"), "{}", unknown.stderr);
}

/// Sakura lines for the minutes before now: `bad` in 10 answered 503.
fn lines_until_now(bad: usize) -> String {
    let now = chrono::Utc::now();
    let mut out = String::new();
    for s in (1..600).rev() {
        let t = (now - chrono::Duration::seconds(s)).format("%Y-%m-%dT%H:%M:%S+00:00");
        let status = if s % 10 < bad as i64 { 503 } else { 200 };
        out.push_str(&format!(
            "{{\"time\":\"{t}\",\"http_host\":\"live.example\",\"remote_addr\":\"192.0.2.7\",\"request\":\"GET /x HTTP/1.1\",\"status\":\"{status}\",\"bytes_sent\":\"10\"}}\n"
        ));
    }
    out
}

/// `watch` until stopped, on the real clock: a failing host fires within a
/// few rounds, recovers when its lines show it, and a restarted watch sends
/// neither again; a rule whose source is gone is an ERROR, notified once.
#[test]
fn watch_runs_rounds_until_stopped_and_a_restart_repeats_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("live.log");
    std::fs::write(&log, lines_until_now(3)).unwrap();
    let rules = tmp.path().join("live.toml");
    std::fs::write(
        &rules,
        format!(
            r#"
[notifier.hook]
kind = "webhook"
url_env = "HOOK_URL"

[[rule]]
name = "live 5xx"
from = ["{}"]
format = "sakura"
every = "1s"
window = "5m"
query = "SELECT host, count(*) AS requests, avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio FROM logs GROUP BY host"
group_by = ["host"]
fire = "ratio > 0.1"
recover = "ratio < 0.05"
notify = ["hook"]

[[rule]]
name = "gone"
from = ["{}"]
format = "sakura"
every = "1s"
window = "5m"
query = "SELECT count(*) AS n FROM logs"
fire = "n > 0"
notify = ["hook"]
"#,
            log.display(),
            tmp.path().join("no-such-folder/").display()
        ),
    )
    .unwrap();
    let hook = Receiver::start();
    let state = tmp.path().join("state");
    let spawn = || {
        let (mut c, home) = Cmd::new([
            "watch",
            "--rules",
            rules.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
        .env("HOOK_URL", hook.url("/hook"))
        .into_parts();
        let child = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        (child, home)
    };
    let states = |hook: &Receiver| -> Vec<String> {
        hook.received()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.json()["group_key"].as_str().unwrap(),
                    r.json()["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    let wait_for = |n: usize| {
        let started = std::time::Instant::now();
        while hook.received().len() < n {
            assert!(started.elapsed().as_secs() < 60, "{:?}", states(&hook));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (mut watch, _home) = spawn();
    wait_for(2);
    let mut got = states(&hook);
    got.sort();
    assert_eq!(got, vec!["!error ERROR", "host=live.example FIRING"]);
    // Another watch on the same state is refused while this one runs.
    let second = Cmd::new([
        "watch",
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--once",
    ])
    .env("HOOK_URL", hook.url("/hook"))
    .run();
    assert!(second.error().contains("another edgelog watch"), "{}", second.stderr);
    // Restart: nothing is sent again.
    watch.kill().unwrap();
    watch.wait().unwrap();
    let (mut watch, _home) = spawn();
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(hook.received().len(), 2, "{:?}", states(&hook));
    // The host is healthy again: one resolved message.
    std::fs::write(&log, lines_until_now(0)).unwrap();
    wait_for(3);
    std::thread::sleep(std::time::Duration::from_secs(2));
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert_eq!(states(&hook)[2], "host=live.example OK");
    assert_eq!(hook.received().len(), 3, "{:?}", states(&hook));
}

/// Rules of one source and window share a scan, over raw objects and over
/// the lake: each rule's groups and values equal those of the rule asked
/// alone, including a rule that reads `logs` twice (a subquery), which
/// runs on its own rather than holding up the shared scan.
#[test]
fn shared_scans_answer_like_each_rule_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = logs(tmp.path());
    burst(&logs);
    let lake = tmp.path().join("lake");
    Cmd::new([
        "ingest",
        "-q",
        "--from",
        logs.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
    .run()
    .ok();
    let queries = [
        (
            "ratio",
            "SELECT host, count(*) AS requests, avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio FROM logs GROUP BY host",
            "ratio > 0.05",
            "host",
        ),
        (
            "paths",
            "SELECT host, count(DISTINCT path) AS paths FROM logs WHERE status >= 500 GROUP BY host",
            "paths > 100",
            "host",
        ),
        (
            "failing hosts",
            "SELECT host, count(*) AS n FROM logs WHERE host IN (SELECT host FROM logs WHERE status = 503) GROUP BY host",
            "n > 10",
            "host",
        ),
        (
            "all",
            "SELECT count(*) AS n, sum(bytes_sent) AS bytes FROM logs",
            "n > 1000000",
            "",
        ),
    ];
    let rule = |name: &str, source: &str, (_, query, fire, group): (&str, &str, &str, &str)| {
        let group = if group.is_empty() {
            String::new()
        } else {
            format!("group_by = [\"{group}\"]\n")
        };
        format!(
            "[[rule]]\nname = \"{name}\"\n{source}\nformat = \"sakura\"\nevery = \"5m\"\nwindow = \"15m\"\nquery = \"{query}\"\n{group}fire = \"{fire}\"\n\n"
        )
    };
    let sources = [
        ("raw", format!("from = [\"{}\"]", logs.display())),
        ("lake", format!("lake = \"{}\"", lake.display())),
    ];
    let state_of = |text: &str, name: &str| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("r.toml");
        std::fs::write(&rules, text).unwrap();
        let state = dir.path().join("state");
        let (rules, state) = (rules.to_str().unwrap(), state.to_str().unwrap());
        let run = Cmd::new([
            "watch",
            "--rules",
            rules,
            "--state",
            state,
            "--once",
            "--at",
            "2024-11-27T10:20:00+09:00",
            "-q",
        ])
        .run();
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        let table = Cmd::new(["alerts", "--rules", rules, "--state", state]).run();
        let mut rows: Vec<String> = table
            .ok()
            .lines()
            .filter(|l| l.starts_with(&format!("{name}\t")))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{} {} {}", f[1], f[2], f[5])
            })
            .collect();
        rows.sort();
        rows
    };
    let mut all = String::new();
    for (tag, source) in &sources {
        for q in &queries {
            all.push_str(&rule(&format!("{tag} {}", q.0), source, *q));
        }
    }
    for (tag, source) in &sources {
        for q in &queries {
            let name = format!("{tag} {}", q.0);
            let alone = state_of(&rule(&name, source, *q), &name);
            assert!(
                !alone.is_empty() && alone.iter().all(|r| !r.contains("ERROR")),
                "{name}: {alone:?}"
            );
            assert_eq!(state_of(&all, &name), alone, "{name}");
        }
    }
}
