//! A fault-injecting HTTP proxy for the storage tests. It sits between the
//! edgelog binary and the in-process S3 server (`s3_server.rs`) and, for the
//! requests its rules pick, answers with an S3 error, cuts the body short,
//! resets the connection or goes silent; everything else passes through.
//!
//! It is a raw-TCP HTTP/1.1 proxy rather than a hyper service so that it can
//! break a response at byte level: the true headers and half of the body,
//! then a TCP RST, a FIN or nothing at all. The request line and headers are
//! forwarded byte for byte (SigV4 signs the Host header, path and query), only
//! `Connection` is replaced. Every connection carries exactly one request:
//! upstream is asked for `Connection: close` (so its response ends at EOF) and
//! every answer to the client says `Connection: close` and is followed by a
//! close, so a fault never leaks into a reused connection.

// Not every test uses every helper.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Largest request or response head accepted (S3 heads are about 1 KB).
const MAX_HEAD: usize = 64 * 1024;
/// Largest body buffered to find its middle when upstream sends no Content-Length.
const MAX_BUFFERED_BODY: u64 = 64 * 1024 * 1024;
/// Time for the half body to leave the send buffer before an RST, which
/// discards whatever the kernel has not sent yet.
const DRAIN_BEFORE_RESET: Duration = Duration::from_millis(100);

/// Which requests a rule applies to.
#[derive(Debug, Clone)]
pub enum Target {
    /// GET of an object whose path (without query) ends with this text, e.g.
    /// "T13.log.gz" or "" for every object GET. Never HEAD, never LIST.
    Get(String),
    /// Any LIST request (a GET whose query has `list-type=2`, or any GET on
    /// the bucket root with a query containing `prefix=` or `delimiter=`).
    List,
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An S3 error response with this status and S3 error code, e.g.
    /// (503, "SlowDown"): XML body, correct Content-Length, then close.
    /// Upstream is not contacted.
    Status(u16, &'static str),
    /// The upstream's headers and `body_len / 2` bytes of its body, then a
    /// TCP RST (SO_LINGER 0).
    ResetMidBody,
    /// The upstream's headers (true Content-Length) and `body_len / 2` bytes
    /// of its body, then a clean close (FIN).
    ShortBody,
    /// Nothing is sent back; the connection stays open and silent until the
    /// client gives up or the proxy is dropped. Upstream is not contacted.
    StallBeforeFirstByte,
    /// The headers and `body_len / 2` bytes of the body, then silence until
    /// the client gives up or the proxy is dropped (with an empty body:
    /// silence from the start).
    StallMidBody,
}

/// A fault for the first `times` matching requests of each distinct object
/// path (for `Target::List`: the first `times` LIST requests in all).
///
/// Rules are tried in order and the first one that matches and is not used
/// up for this path wins, so rules with the same target chain: two 503s,
/// then a reset, then the real answer.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which requests.
    pub target: Target,
    /// What happens to them.
    pub fault: Fault,
    /// How many of them (per object path; in all for LIST).
    pub times: usize,
}

/// One request the proxy saw, for tests that count requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Whether it asked for a byte range (a `Range` header).
    pub ranged: bool,
}

impl Seen {
    /// Whether it lists a bucket.
    pub fn is_list(&self) -> bool {
        let (path, query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        self.method == "GET" && is_list(path, query)
    }
}

/// State shared by the connections and the test.
struct Shared {
    upstream: SocketAddr,
    /// Every request, in arrival order.
    seen: Mutex<Vec<Seen>>,
    rules: Vec<Rule>,
    /// Per rule: how often it fired, per object path ("" for LIST).
    used: Mutex<Vec<HashMap<String, usize>>>,
    faults: AtomicUsize,
    forwarded: AtomicUsize,
}

impl Shared {
    /// The fault for this request, if any; counts the request either way.
    fn pick(&self, method: &str, target: &str) -> Option<Fault> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let list = is_list(path, query);
        // A panicking test thread must not take the proxy down with it.
        let mut used = self.used.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (rule, used) in self.rules.iter().zip(used.iter_mut()) {
            let key = match &rule.target {
                _ if method != "GET" => break, // HEAD and the rest are never faulted
                Target::List if list => "",
                Target::Get(suffix) if !list && path.ends_with(suffix.as_str()) => path,
                _ => continue,
            };
            let count = used.entry(key.to_string()).or_insert(0);
            if *count < rule.times {
                *count += 1;
                self.faults.fetch_add(1, Ordering::SeqCst);
                return Some(rule.fault);
            }
        }
        self.forwarded.fetch_add(1, Ordering::SeqCst);
        None
    }
}

/// Whether a GET with this path and query lists a bucket.
fn is_list(path: &str, query: &str) -> bool {
    let params = || query.split('&');
    let bucket_root = !path.trim_matches('/').contains('/');
    params().any(|p| p == "list-type=2")
        || (bucket_root && params().any(|p| p.starts_with("prefix=") || p.starts_with("delimiter=")))
}

/// A running proxy; dropping it stops it (including any stalled connections, promptly).
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping the sender wakes every `changed()`: the accept loop and each connection stop.
    stop: Option<watch::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Forwards to `upstream` (the S3 server), applying `rules` (first
    /// matching rule wins), on a free port of 127.0.0.1.
    pub fn start(upstream: SocketAddr, rules: Vec<Rule>) -> Self {
        // Bound here, not on the proxy's thread, so the port is known on return.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener for tokio");
        let addr = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            upstream,
            seen: Mutex::new(Vec::new()),
            used: Mutex::new(vec![HashMap::new(); rules.len()]),
            rules,
            faults: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
        });
        let (stop_tx, stop_rx) = watch::channel(());
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the fault proxy");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                let mut stop = stop_rx.clone();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            let (state, mut stop) = (Arc::clone(&state), stop_rx.clone());
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = serve(client, &state) => {}
                                    _ = stop.changed() => {}
                                }
                            });
                        }
                        _ = stop.changed() => break,
                    }
                }
            });
            // The connection tasks have seen the stop too; this only bounds the wait.
            rt.shutdown_timeout(Duration::from_millis(500));
        });
        FaultProxy {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests were answered with a fault so far.
    pub fn faults_injected(&self) -> usize {
        self.shared.faults.load(Ordering::SeqCst)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many requests were forwarded untouched so far.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One client connection, one request. Errors just end it: the client sees a close.
async fn serve(mut client: TcpStream, state: &Shared) -> io::Result<()> {
    let (head, mut body) = read_head(&mut client).await?;
    let request_line = std::str::from_utf8(lines(&head).next().unwrap_or_default())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "request line is not text"))?;
    let mut words = request_line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    // Read the whole request body: unread bytes at close would turn the FIN into an RST.
    let body_len = content_length(&head).unwrap_or(0);
    let missing = body_len.saturating_sub(body.len()) as u64;
    (&mut client).take(missing).read_to_end(&mut body).await?;
    if body.len() < body_len {
        return Ok(()); // the client went away
    }
    body.truncate(body_len);

    let ranged = lines(&head).any(|l| header_name(l).eq_ignore_ascii_case(b"range"));
    state.seen.lock().unwrap_or_else(|p| p.into_inner()).push(Seen {
        method: method.to_string(),
        target: target.to_string(),
        ranged,
    });
    let fault = state.pick(method, target);
    match fault {
        Some(Fault::Status(code, s3_code)) => {
            client.write_all(&error_response(code, s3_code)).await?;
            return client.shutdown().await;
        }
        Some(Fault::StallBeforeFirstByte) => return stall(&mut client).await,
        _ => {}
    }

    let exchange = async {
        let mut up = TcpStream::connect(state.upstream).await?;
        up.write_all(&with_connection_close(&head)).await?;
        up.write_all(&body).await?;
        let (head, rest) = read_head(&mut up).await?;
        io::Result::Ok((up, head, rest))
    };
    let (mut up, up_head, mut rest) = match exchange.await {
        Ok(answer) => answer,
        Err(_) => {
            client.write_all(&error_response(502, "BadGateway")).await?;
            return client.shutdown().await;
        }
    };
    let out_head = with_connection_close(&up_head);

    let Some(fault) = fault else {
        client.write_all(&out_head).await?;
        client.write_all(&rest).await?;
        tokio::io::copy(&mut up, &mut client).await?;
        return client.shutdown().await;
    };

    // A mid-body fault: find the body's length, then send half of it.
    let len = match content_length(&up_head) {
        Some(n) => n,
        None => {
            (&mut up).take(MAX_BUFFERED_BODY).read_to_end(&mut rest).await?;
            rest.len()
        }
    };
    if len == 0 && fault == Fault::StallMidBody {
        return stall(&mut client).await;
    }
    let half = len / 2;
    client.write_all(&out_head).await?;
    let buffered = half.min(rest.len());
    client.write_all(&rest[..buffered]).await?;
    tokio::io::copy(&mut (&mut up).take((half - buffered) as u64), &mut client).await?;
    drop(up);
    match fault {
        Fault::ResetMidBody => {
            tokio::time::sleep(DRAIN_BEFORE_RESET).await;
            // Linger 0: close() sends an RST instead of a FIN.
            client.set_zero_linger()?;
            drop(client);
            Ok(())
        }
        Fault::ShortBody => client.shutdown().await,
        _ => stall(&mut client).await,
    }
}

/// Waits, sending nothing, until the client closes (or the task is cancelled by the stop).
async fn stall(client: &mut TcpStream) -> io::Result<()> {
    let mut sink = [0u8; 1024];
    while client.read(&mut sink).await? > 0 {}
    Ok(())
}

/// Reads up to the blank line: (head including "\r\n\r\n", bytes read past it).
async fn read_head(stream: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "HTTP head too long"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The lines of a head, without their CRLF (the blank last line included).
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// A header line's name, trimmed.
fn header_name(line: &[u8]) -> &[u8] {
    line.split(|&b| b == b':').next().unwrap_or_default().trim_ascii()
}

/// The Content-Length of a head, if it has one.
fn content_length(head: &[u8]) -> Option<usize> {
    let line = lines(head)
        .skip(1)
        .find(|l| header_name(l).eq_ignore_ascii_case(b"content-length"))?;
    let value = &line[line.iter().position(|&b| b == b':')? + 1..];
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// The same head, byte for byte, with its Connection (and Keep-Alive)
/// headers replaced by `Connection: close`.
fn with_connection_close(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 19);
    for line in lines(head).filter(|l| !l.is_empty()) {
        let name = header_name(line);
        if name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"keep-alive") {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// An S3-style error response, complete.
fn error_response(status: u16, s3_code: &str) -> Vec<u8> {
    let reason = match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{s3_code}</Code>\
         <Message>Fault injected by the test proxy</Message><RequestId>fault-proxy</RequestId></Error>"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
