//! Reads from a store that survive what object storage does under load, or
//! name what went wrong.
//!
//! object_store's own retries are switched off (see `location.rs`), so that
//! every retry happens here, where it is counted, timed and explained:
//! - a request must start answering within `io_timeout`, and a body may not
//!   pause longer than that between two pieces (a stall is a fault, not a
//!   wait);
//! - a transient fault (a 5xx or 429 answer, a connection refused, reset or
//!   cut short, a stall) is retried up to `retries` times with exponential
//!   backoff, and a download that broke is resumed from the byte where it
//!   broke, as long as the object has not changed;
//! - a lasting fault (not found, access denied, bad credentials) is not
//!   retried.
//!
//! So the longest a storage that stops answering can hold a scan is about
//! `(retries + 1) * io_timeout` plus at most `2 s * retries` of backoff
//! (with the defaults, 4 * 30 s + 6 s) per object. A transfer that keeps
//! delivering bytes, however slowly, is not cut. Every retry is noted in the
//! process's retry log ([`retry_log`]), which `-v` prints.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{Future, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectMeta, ObjectStore, ObjectStoreExt};

use super::{SourceError, describe_store_error};
use crate::config::IoPolicy;

/// One store read under an [`IoPolicy`]; cheap to clone. Listings are
/// remembered for the life of the reader and its clones (one opened log
/// set), so that detection, a scan and a second time window never list the
/// same folder twice: a log set is a snapshot of what its listings saw.
#[derive(Debug, Clone)]
pub struct StoreReader {
    store: Arc<dyn ObjectStore>,
    policy: IoPolicy,
    listed: Arc<Mutex<Listed>>,
}

/// Listings already made, by folder (`None`: the store's root).
#[derive(Debug, Default)]
struct Listed {
    /// Recursive listings.
    all: HashMap<Option<Path>, Vec<ObjectMeta>>,
    /// One-level listings: sub-folders and objects.
    dirs: HashMap<Option<Path>, (Vec<Path>, Vec<ObjectMeta>)>,
}

/// What went wrong in one attempt.
#[derive(Debug)]
enum Fault {
    /// The store's error.
    Store(object_store::Error),
    /// No answer within the timeout.
    NoAnswer(Duration),
    /// The body paused longer than the timeout.
    Stalled { after: u64, timeout: Duration },
    /// The body ended before the object's size.
    Short { got: u64, want: u64 },
    /// The object's etag changed between attempts.
    Changed,
}

impl Fault {
    fn transient(&self) -> bool {
        match self {
            Fault::Store(e) => transient(e),
            _ => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            // A lasting fault keeps the wording (and hints) of every other
            // storage error; a transient one says what the storage did.
            Fault::Store(e) if transient(e) => describe_fault(e),
            Fault::Store(e) => describe_store_error(e),
            Fault::NoAnswer(t) => format!("no answer within {}", seconds(*t)),
            Fault::Stalled { after, timeout } => {
                format!(
                    "the transfer stalled: no data for {} after {after} bytes",
                    seconds(*timeout)
                )
            }
            Fault::Short { got, want } => format!("the body ended after {got} of {want} bytes"),
            Fault::Changed => "the object changed while it was read".into(),
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Whether a store error may go away on its own.
fn transient(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    match e {
        E::Generic { .. } => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
            while let Some(c) = cause {
                // Connect, send, timeout, a connection cut mid-body.
                if c.downcast_ref::<object_store::client::HttpError>().is_some() {
                    return true;
                }
                if let Some(io) = c.downcast_ref::<std::io::Error>() {
                    use std::io::ErrorKind as K;
                    if matches!(
                        io.kind(),
                        K::ConnectionReset | K::ConnectionAborted | K::TimedOut | K::UnexpectedEof | K::Interrupted
                    ) {
                        return true;
                    }
                }
                cause = c.source();
            }
            status_of(&e.to_string()).is_some_and(|s| s >= 500 || s == 429 || s == 408)
        }
        _ => false,
    }
}

/// The HTTP status in object_store's text for a non-2xx answer.
fn status_of(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// A fault in a few words: `503 SlowDown`, `connection failed: ...`.
fn describe_fault(e: &object_store::Error) -> String {
    let text = e.to_string();
    if let Some(status) = status_of(&text) {
        let code = text
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.to_string());
        return match code {
            Some(code) => format!("the storage answered {status} {code}"),
            None => format!("the storage answered {status}"),
        };
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut kind = None;
    let mut innermost = text.clone();
    while let Some(c) = cause {
        if let Some(h) = c.downcast_ref::<object_store::client::HttpError>() {
            kind = Some(h.kind());
        }
        innermost = c.to_string();
        cause = c.source();
    }
    use object_store::client::HttpErrorKind as K;
    match kind {
        Some(K::Connect) => format!("cannot connect: {innermost} (is the endpoint right and reachable?)"),
        Some(K::Timeout) => format!("timed out: {innermost}"),
        Some(_) => format!("the transfer broke: {innermost}"),
        None => describe_store_error(e),
    }
}

/// Backoff before retry `n` (1-based): 100 ms doubling up to 2 s, with
/// jitter so that parallel readers do not retry in step.
fn backoff(n: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << n.saturating_sub(1).min(5)).min(2000);
    let jitter = rand::random_range(0.5..=1.0);
    Duration::from_millis((base as f64 * jitter) as u64)
}

impl StoreReader {
    /// Reads of `store` under `policy`.
    pub fn new(store: Arc<dyn ObjectStore>, policy: IoPolicy) -> Self {
        StoreReader {
            store,
            policy,
            listed: Arc::default(),
        }
    }

    /// The store itself.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are
    /// spent; `name` is the object or folder for the log and the error.
    async fn retrying<T, F, Fut>(&self, name: &str, action: &'static str, mut attempt: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let mut attempts = Attempts::new(self.policy);
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(fault) => attempts.after(fault, name, action).await?,
            }
        }
    }

    /// The whole object at `path` (`name` as shown to the user).
    pub async fn get(&self, path: &Path, name: &str) -> Result<Bytes, SourceError> {
        let mut state = Download::default();
        let mut attempts = Attempts::new(self.policy);
        loop {
            match download(self.store.as_ref(), path, &mut state, self.policy.io_timeout).await {
                Ok(()) => return Ok(state.finish()),
                Err(fault) => attempts
                    .after(fault, name, "read")
                    .await
                    .map_err(|f| f.into_error("read", name))?,
            }
        }
    }

    /// Bytes `range` of the object at `path` (a short object gives fewer).
    pub async fn get_range(&self, path: &Path, name: &str, range: Range<u64>) -> Result<Bytes, SourceError> {
        let io = self.policy.io_timeout;
        self.retrying(name, "read", || {
            let range = range.clone();
            async move {
                let opts = GetOptions {
                    range: Some(GetRange::Bounded(range)),
                    ..Default::default()
                };
                let got = tokio::time::timeout(io, async {
                    let r = self.store.get_opts(path, opts).await?;
                    r.bytes().await
                })
                .await
                .map_err(|_| Fault::NoAnswer(io))?;
                got.map_err(Fault::Store)
            }
        })
        .await
        .map_err(|f| f.into_error("read", name))
    }

    /// The metadata of the object at `path`; a missing object is
    /// `object_store::Error::NotFound`, as the store says it.
    pub async fn head(&self, path: &Path, name: &str) -> Result<ObjectMeta, HeadError> {
        let io = self.policy.io_timeout;
        let result = self
            .retrying(name, "read", || async move {
                tokio::time::timeout(io, self.store.head(path))
                    .await
                    .map_err(|_| Fault::NoAnswer(io))?
                    .map_err(Fault::Store)
            })
            .await;
        match result {
            Ok(meta) => Ok(meta),
            Err(Failure {
                fault: Fault::Store(e @ object_store::Error::NotFound { .. }),
                ..
            }) => Err(HeadError::NotFound(e)),
            Err(f) => Err(HeadError::Other(f.into_error("read", name))),
        }
    }

    fn memo<R>(&self, f: impl FnOnce(&mut Listed) -> R) -> R {
        // A poisoned lock only means a thread panicked while noting a
        // listing; the listings noted are still right.
        f(&mut self.listed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every object under `prefix`, recursively (`name` for messages).
    pub async fn list(&self, prefix: Option<&Path>, name: &str) -> Result<Vec<ObjectMeta>, SourceError> {
        let key = prefix.cloned();
        if let Some(hit) = self.memo(|m| m.all.get(&key).cloned()) {
            return Ok(hit);
        }
        let io = self.policy.io_timeout;
        let all = self
            .retrying(name, "list", || async move {
                let mut stream = self.store.list(prefix);
                let mut all = Vec::new();
                loop {
                    match tokio::time::timeout(io, stream.next()).await {
                        Err(_) => return Err(Fault::NoAnswer(io)),
                        Ok(None) => return Ok(all),
                        Ok(Some(Ok(meta))) => all.push(meta),
                        Ok(Some(Err(e))) => return Err(Fault::Store(e)),
                    }
                }
            })
            .await
            .map_err(|f| f.into_error("list", name))?;
        self.memo(|m| m.all.insert(key, all.clone()));
        Ok(all)
    }

    /// The sub-folders and objects directly under `dir`.
    pub async fn list_dir(&self, dir: Option<&Path>, name: &str) -> Result<(Vec<Path>, Vec<ObjectMeta>), SourceError> {
        let key = dir.cloned();
        if let Some(hit) = self.memo(|m| m.dirs.get(&key).cloned()) {
            return Ok(hit);
        }
        let io = self.policy.io_timeout;
        let listed = self
            .retrying(name, "list", || async move {
                let r = tokio::time::timeout(io, self.store.list_with_delimiter(dir))
                    .await
                    .map_err(|_| Fault::NoAnswer(io))?
                    .map_err(Fault::Store)?;
                Ok((r.common_prefixes, r.objects))
            })
            .await
            .map_err(|f| f.into_error("list", name))?;
        self.memo(|m| m.dirs.insert(key, listed.clone()));
        Ok(listed)
    }
}

/// A failed `head`: not there (which listing handles), or anything else.
#[derive(Debug)]
pub enum HeadError {
    /// The object does not exist.
    NotFound(object_store::Error),
    /// Any other fault, already explained.
    Other(SourceError),
}

/// The attempts of one read so far.
struct Attempts {
    policy: IoPolicy,
    started: Instant,
    last: Instant,
    tries: u32,
}

impl Attempts {
    fn new(policy: IoPolicy) -> Self {
        let now = Instant::now();
        Attempts {
            policy,
            started: now,
            last: now,
            tries: 0,
        }
    }

    /// After a failed attempt: waits and returns `Ok` when another attempt
    /// should be made, or the failure to report.
    async fn after(&mut self, fault: Fault, name: &str, action: &'static str) -> Result<(), Failure> {
        self.tries += 1;
        if !fault.transient() || self.tries > self.policy.retries {
            return Err(Failure {
                fault,
                tries: self.tries,
                elapsed: self.started.elapsed(),
            });
        }
        let wait = backoff(self.tries);
        note_retry(name, action, &fault.describe(), self.last.elapsed() + wait);
        tokio::time::sleep(wait).await;
        self.last = Instant::now();
        Ok(())
    }
}

/// The last fault of a read that gave up.
#[derive(Debug)]
struct Failure {
    fault: Fault,
    tries: u32,
    elapsed: Duration,
}

impl Failure {
    fn into_error(self, action: &'static str, name: &str) -> SourceError {
        let mut why = self.fault.describe();
        if self.tries > 1 {
            why.push_str(&format!(
                " (gave up after {} attempts in {})",
                self.tries,
                seconds(self.elapsed)
            ));
        }
        SourceError::Storage {
            action,
            location: name.to_string(),
            why,
        }
    }
}

/// A download in progress, kept across attempts so that a retry resumes.
#[derive(Debug, Default)]
struct Download {
    buf: BytesMut,
    /// A local file read in one piece (no copy).
    whole: Option<Bytes>,
    etag: Option<String>,
    size: Option<u64>,
}

impl Download {
    fn finish(self) -> Bytes {
        self.whole.unwrap_or_else(|| self.buf.freeze())
    }
}

/// One attempt at the rest of an object. A download resumes only when the
/// object can be told unchanged (same etag and size); otherwise, or when the
/// store refuses the range, it starts again from the first byte.
async fn download(store: &dyn ObjectStore, path: &Path, state: &mut Download, io: Duration) -> Result<(), Fault> {
    if state.etag.is_none() && !state.buf.is_empty() {
        // Without an etag a changed object cannot be told: never splice.
        state.buf.clear();
    }
    let offset = state.buf.len() as u64;
    if offset > 0 && Some(offset) == state.size {
        // Every byte arrived before the fault.
        return Ok(());
    }
    let opts = GetOptions {
        range: (offset > 0).then_some(GetRange::Offset(offset)),
        ..Default::default()
    };
    let result = match tokio::time::timeout(io, store.get_opts(path, opts)).await {
        Err(_) => return Err(Fault::NoAnswer(io)),
        // 416: the object is shorter than what was read of it: replaced.
        Ok(Err(e)) if offset > 0 && status_of(&e.to_string()) == Some(416) => {
            *state = Download::default();
            return Err(Fault::Changed);
        }
        Ok(r) => r.map_err(Fault::Store)?,
    };
    if offset > 0 && (result.meta.e_tag != state.etag || Some(result.meta.size) != state.size) {
        // Not the object whose first part we hold: start again.
        *state = Download::default();
        return Err(Fault::Changed);
    }
    state.etag = result.meta.e_tag.clone();
    let size = result.meta.size;
    state.size = Some(size);
    if let GetResultPayload::File(..) = &result.payload {
        // A local file: one read, no network to stall, no copy.
        let bytes = result.bytes().await.map_err(Fault::Store)?;
        if offset == 0 {
            state.whole = Some(bytes);
            return Ok(());
        }
        state.buf.extend_from_slice(&bytes);
    } else {
        state
            .buf
            .reserve(usize::try_from(size.saturating_sub(offset)).unwrap_or(0));
        let mut stream = result.into_stream();
        // Done at the last byte: a fault after it costs nothing.
        while (state.buf.len() as u64) < size {
            match tokio::time::timeout(io, stream.next()).await {
                Err(_) => {
                    return Err(Fault::Stalled {
                        after: state.buf.len() as u64,
                        timeout: io,
                    });
                }
                Ok(None) => break,
                Ok(Some(Ok(chunk))) => state.buf.extend_from_slice(&chunk),
                Ok(Some(Err(e))) => return Err(Fault::Store(e)),
            }
        }
    }
    let got = state.buf.len() as u64;
    if got != size {
        return Err(Fault::Short { got, want: size });
    }
    Ok(())
}

/// One retry, as `-v` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryEvent {
    /// `read` or `list`.
    pub action: &'static str,
    /// The object or folder.
    pub object: String,
    /// What went wrong.
    pub cause: String,
    /// The failed attempt plus the backoff after it.
    pub lost: Duration,
}

/// Every retry of this process so far.
#[derive(Debug, Clone, Default)]
pub struct RetryLog {
    /// Retries made.
    pub retries: u64,
    /// Time spent on failed attempts and backoff.
    pub lost: Duration,
    /// The first [`MAX_EVENTS`] of them.
    pub events: Vec<RetryEvent>,
}

/// How many retries are kept with their cause.
pub const MAX_EVENTS: usize = 50;

static LOG: Mutex<RetryLog> = Mutex::new(RetryLog {
    retries: 0,
    lost: Duration::ZERO,
    events: Vec::new(),
});
static OBSERVER: Mutex<Option<fn(&RetryEvent)>> = Mutex::new(None);

/// Calls `observer` with each retry as it happens (the CLI prints them
/// under `-v`); `None` stops that.
pub fn on_retry(observer: Option<fn(&RetryEvent)>) {
    *OBSERVER.lock().unwrap_or_else(|p| p.into_inner()) = observer;
}

fn note_retry(object: &str, action: &'static str, cause: &str, lost: Duration) {
    let event = RetryEvent {
        action,
        object: object.to_string(),
        cause: cause.to_string(),
        lost,
    };
    if let Some(observe) = *OBSERVER.lock().unwrap_or_else(|p| p.into_inner()) {
        observe(&event);
    }
    // A poisoned lock only means a thread panicked while noting; the counts
    // are still the best there are.
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    log.retries += 1;
    log.lost += lost;
    if log.events.len() < MAX_EVENTS {
        log.events.push(event);
    }
}

/// The retries of this process so far.
pub fn retry_log() -> RetryLog {
    LOG.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_backoff() {
        assert_eq!(
            status_of("Server returned non-2xx status code: 503 Service Unavailable: <Error>"),
            Some(503)
        );
        assert_eq!(status_of("no status here"), None);
        assert_eq!(status_of("status code: 5"), None);
        for n in 1..40 {
            let b = backoff(n);
            assert!(b <= Duration::from_secs(2), "{n}: {b:?}");
        }
        assert!(backoff(1) >= Duration::from_millis(50));
    }
}
