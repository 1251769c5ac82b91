//! The server's own access log, one line per request in the
//! `combined_request_time` format (combined plus the seconds the request
//! took), so that `edgelog query --from serve-access.log` reads it. Logged
//! when the answer's last byte is sent (or the client leaves), with the
//! bytes actually sent. Never a token: it travels in headers and the login
//! form's body, which are not logged.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// The open log file (appended to).
pub struct AccessLog {
    file: Mutex<File>,
}

/// One request, as logged.
pub struct Entry<'a> {
    /// The client's address.
    pub client: std::net::IpAddr,
    /// When it arrived, epoch ms.
    pub at_ms: i64,
    /// Method, target (path and query) and protocol.
    pub method: &'a str,
    /// Path and query string.
    pub target: &'a str,
    /// `HTTP/1.1` and the like.
    pub protocol: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// The Referer header.
    pub referer: Option<&'a str>,
    /// The User-Agent header.
    pub user_agent: Option<&'a str>,
    /// Seconds from arrival to the last byte.
    pub seconds: f64,
}

/// `s` as nginx writes a quoted field: `"` and `\` and control bytes as `\xHH`.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", (c as u32) & 0xff)),
            c => out.push(c),
        }
    }
    out
}

impl AccessLog {
    /// Opens `path` for appending (made if missing).
    pub fn open(path: &Path) -> std::io::Result<AccessLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AccessLog { file: Mutex::new(file) })
    }

    /// The line for `e`, without its newline.
    pub fn line(e: &Entry<'_>) -> String {
        let time = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .unwrap_or_default()
            .format("%d/%b/%Y:%H:%M:%S +0000");
        format!(
            "{} - - [{time}] \"{} {} {}\" {} {} \"{}\" \"{}\" {:.3}",
            e.client,
            quoted(e.method),
            quoted(e.target),
            quoted(e.protocol),
            e.status,
            e.bytes,
            quoted(e.referer.unwrap_or("-")),
            quoted(e.user_agent.unwrap_or("-")),
            e.seconds
        )
    }

    /// Appends one line (whole, in one write; a failing disk loses the line, not the request).
    pub fn write(&self, e: &Entry<'_>) {
        let mut line = Self::line(e);
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_agent_stays_in_its_quotes() {
        let line = AccessLog::line(&Entry {
            client: "127.0.0.1".parse().unwrap(),
            at_ms: 1_764_720_000_000,
            method: "GET",
            target: "/api/report?last=24h",
            protocol: "HTTP/1.1",
            status: 200,
            bytes: 1234,
            referer: None,
            user_agent: Some("evil\" \"x\nnext"),
            seconds: 0.0123,
        });
        assert_eq!(
            line,
            "127.0.0.1 - - [03/Dec/2025:00:00:00 +0000] \"GET /api/report?last=24h HTTP/1.1\" 200 1234 \"-\" \"evil\\x22 \\x22x\\x0Anext\" 0.012"
        );
    }
}
