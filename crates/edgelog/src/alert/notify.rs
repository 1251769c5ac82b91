//! Delivering one message: a Slack incoming webhook, a generic webhook
//! (JSON, optionally signed with HMAC-SHA256) or a command (JSON on
//! stdin). Secrets (URLs, keys) are read when sending and never shown:
//! errors name the notifier, never its URL.

use std::time::Duration;

use super::rules::NotifierConf;
use super::store::{Message, Notice};
use crate::config::{one_line, parse_duration_ms};

/// How one try went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The receiver took it.
    Delivered,
    /// Try again: after this long if the receiver said (`Retry-After`).
    Retry {
        /// The receiver's wish, in ms.
        after_ms: Option<i64>,
        /// Why, one line, no secret.
        why: String,
    },
    /// The receiver refused it for good (a 4xx other than 429, a bad
    /// notifier): reported, not retried.
    Failed(String),
}

/// Slack's limit for the text of a section block.
const SLACK_SECTION_CHARS: usize = 3000;

/// Default longest wait for one delivery.
const DEFAULT_TIMEOUT_MS: i64 = 10_000;

/// Sends `msg` through `conf` (named `name`), as a `notify` span of its own
/// (notifier, kind, message id and outcome; never the URL or a key).
pub async fn deliver(client: &reqwest::Client, name: &str, conf: &NotifierConf, msg: &Message) -> Outcome {
    let mut span = crate::trace::work_span("notify", None);
    span.set("edgelog.notifier", name);
    span.set("edgelog.notifier.kind", conf.kind.as_str());
    span.set("edgelog.message.id", msg.id.as_str());
    let outcome = deliver_once(client, name, conf, msg).await;
    match &outcome {
        Outcome::Delivered => span.set("edgelog.outcome", "delivered"),
        Outcome::Retry { why, .. } => {
            span.set("edgelog.outcome", "retry");
            span.fail(why);
        }
        Outcome::Failed(why) => {
            span.set("edgelog.outcome", "failed");
            span.fail(why);
        }
    }
    span.end();
    outcome
}

async fn deliver_once(client: &reqwest::Client, name: &str, conf: &NotifierConf, msg: &Message) -> Outcome {
    let timeout = Duration::from_millis(
        conf.timeout
            .as_deref()
            .and_then(parse_duration_ms)
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .unsigned_abs(),
    );
    match conf.kind.as_str() {
        "slack" => {
            let url = match secret(name, "URL", conf.url_env.as_deref(), conf.url_file.as_deref()) {
                Ok(u) => u,
                Err(e) => return Outcome::Failed(e),
            };
            let body = slack_body(&msg.body);
            post(client, name, &url, body, Vec::new(), timeout).await
        }
        "webhook" => {
            let url = match secret(name, "URL", conf.url_env.as_deref(), conf.url_file.as_deref()) {
                Ok(u) => u,
                Err(e) => return Outcome::Failed(e),
            };
            let body = match serde_json::to_vec(&msg.body) {
                Ok(b) => b,
                Err(e) => return Outcome::Failed(format!("notifier {name}: cannot encode the message: {e}")),
            };
            let mut headers = vec![("x-edgelog-id".to_string(), msg.id.clone())];
            if conf.hmac_secret_env.is_some() || conf.hmac_secret_file.is_some() {
                let key = match secret(
                    name,
                    "HMAC key",
                    conf.hmac_secret_env.as_deref(),
                    conf.hmac_secret_file.as_deref(),
                ) {
                    Ok(k) => k,
                    Err(e) => return Outcome::Failed(e),
                };
                headers.push((
                    "x-edgelog-signature".to_string(),
                    format!("sha256={}", sign(&key, &body)),
                ));
            }
            post(client, name, &url, body, headers, timeout).await
        }
        "command" => run_command(name, &conf.argv, &msg.body, timeout).await,
        other => Outcome::Failed(format!("notifier {name}: unknown kind {other:?}")),
    }
}

/// HMAC-SHA256 of `body` under `key`, in lowercase hex.
pub fn sign(key: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret from an environment variable or a file, trimmed.
fn secret(name: &str, what: &str, env: Option<&str>, file: Option<&str>) -> Result<String, String> {
    let value = match (env, file) {
        (Some(var), _) => std::env::var(var)
            .map_err(|_| format!("notifier {name}: the environment variable {var} holding its {what} is not set"))?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("notifier {name}: cannot read its {what} file {path}: {}", e.kind()))?,
        (None, None) => return Err(format!("notifier {name}: no {what} given")),
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(format!("notifier {name}: its {what} is empty"));
    }
    Ok(value)
}

async fn post(
    client: &reqwest::Client,
    name: &str,
    url: &str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    timeout: Duration,
) -> Outcome {
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        // The error's text would hold the URL: say what kind it is.
        Err(e) => {
            let e = e.without_url();
            let kind = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else if e.is_builder() {
                return Outcome::Failed(format!("notifier {name}: its URL is not a valid http(s) URL"));
            } else {
                one_line(&e.to_string())
            };
            return Outcome::Retry {
                after_ms: None,
                why: format!("notifier {name}: {kind}"),
            };
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Outcome::Delivered;
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after_ms);
    let why = format!("notifier {name}: HTTP {}", status.as_u16());
    if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
        Outcome::Retry {
            after_ms: retry_after,
            why,
        }
    } else {
        Outcome::Failed(format!("{why} (not retried)"))
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after_ms(v: &str) -> Option<i64> {
    // At most a day: a receiver's wish, not a reason to stop for good.
    const DAY_MS: i64 = 86_400_000;
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(secs.clamp(0, DAY_MS / 1000) * 1000);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    Some(
        at.timestamp_millis()
            .saturating_sub(chrono::Utc::now().timestamp_millis())
            .clamp(0, DAY_MS),
    )
}

/// The command gets the message as JSON on stdin; exit 0 is delivered.
async fn run_command(name: &str, argv: &[String], body: &Notice, timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Failed(format!("notifier {name}: no command"));
    };
    let json = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("notifier {name}: cannot encode the message: {e}")),
    };
    let (program, args, name) = (program.clone(), args.to_vec(), name.to_string());
    let run = tokio::task::spawn_blocking(move || -> Outcome {
        use std::io::Write;
        let child = std::process::Command::new(&program)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("notifier {name}: cannot run {program}: {}", e.kind())),
        };
        // Written on its own thread: a command that does not read its
        // stdin must not hold up the wait (and its timeout) below.
        if let Some(mut stdin) = child.stdin.take() {
            std::thread::spawn(move || stdin.write_all(&json));
        }
        let started = std::time::Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Outcome::Delivered,
                Ok(Some(status)) => {
                    return Outcome::Retry {
                        after_ms: None,
                        why: format!("notifier {name}: {program} exited with {status}"),
                    };
                }
                Ok(None) if started.elapsed() > timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Outcome::Retry {
                        after_ms: None,
                        why: format!("notifier {name}: {program} took longer than {timeout:?}"),
                    };
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    return Outcome::Retry {
                        after_ms: None,
                        why: format!("notifier {name}: {program}: {e}"),
                    };
                }
            }
        }
    });
    run.await.unwrap_or_else(|e| Outcome::Retry {
        after_ms: None,
        why: format!("notifier: the command's task stopped: {e}"),
    })
}

/// Slack's body: the text, and one section block in mrkdwn with the log's
/// text escaped (`&`, `<`, `>`) and cut to Slack's limit.
pub fn slack_body(n: &Notice) -> Vec<u8> {
    let icon = match n.state.as_str() {
        "FIRING" => ":red_circle:",
        "OK" => ":large_green_circle:",
        "ERROR" => ":warning:",
        _ => ":information_source:",
    };
    let text = cut(&format!(
        "{icon} *{}* {}",
        slack_escape(&n.state),
        slack_escape(&n.message)
    ));
    let body = serde_json::json!({
        "text": cut(&slack_escape(&format!("{} {}", n.state, n.message))),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(&slack_escape(&format!("{} · {} · {}", n.rule, n.at, n.id)))}]},
        ],
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Slack's three control characters, escaped.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// At most Slack's section length, cut on a character boundary and never
/// inside an escape (`&amp;`, `&lt;`, `&gt;`).
fn cut(s: &str) -> String {
    if s.chars().count() <= SLACK_SECTION_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(SLACK_SECTION_CHARS - 1).collect();
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_is_escaped_and_cut() {
        let n = Notice {
            id: "r/host=a/1".into(),
            rule: "r".into(),
            group_key: "host=a".into(),
            group: serde_json::Map::new(),
            state: "FIRING".into(),
            previous: "OK".into(),
            at: "2024-11-27T10:00:00Z".into(),
            window: super::super::store::Window {
                since: String::new(),
                until: String::new(),
            },
            values: serde_json::Map::new(),
            labels: Default::default(),
            message: format!("<!channel> & {}", "x".repeat(5000)),
        };
        let v: serde_json::Value = serde_json::from_slice(&slack_body(&n)).unwrap();
        let text = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(text.contains("&lt;!channel&gt; &amp;"));
        assert_eq!(text.chars().count(), SLACK_SECTION_CHARS);
        assert!(v["text"].as_str().unwrap().contains("&lt;!channel&gt;"));
        // A cut never splits an escape.
        let amps = cut(&slack_escape(&"&".repeat(4000)));
        assert!(
            amps.trim_end_matches('…').ends_with("&amp;"),
            "{}",
            &amps[amps.len() - 10..]
        );
    }

    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(retry_after_ms("2"), Some(2000));
        assert_eq!(retry_after_ms("soon"), None);
        assert_eq!(retry_after_ms("99999999999999999"), Some(86_400_000));
    }
}
