//! Many viewers, one scan: a report asked for again within the time to
//! live is answered from the computation already made, or joins the one
//! under way. After that, a report over an absolute range is kept as long
//! as its source has not changed (the lake's version, the objects of the
//! range); a report over "the last N hours" is made again, since its
//! window has moved.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};

/// A failed computation, as the caller should answer it (shared by every
/// request that joined it).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, one line.
    pub message: String,
}

/// What a computation leaves: the source's state it saw, and the answer.
pub type Made = (String, Arc<String>);

type Pending = Shared<BoxFuture<'static, Result<Made, Failure>>>;

struct Slot {
    made_at: Instant,
    answer: Pending,
}

/// The reports made lately, by request.
pub struct ReportCache {
    ttl: Duration,
    slots: Mutex<HashMap<String, Slot>>,
}

/// Most reports kept at once; the oldest goes first.
const MAX_SLOTS: usize = 256;

impl ReportCache {
    /// Reports live `ttl` before their source is looked at again.
    pub fn new(ttl: Duration) -> ReportCache {
        ReportCache {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The answer to `key`: from a computation younger than the time to
    /// live (made or under way), else from `make`, which is given the last
    /// answer made (to keep it when the source's state is the same).
    /// The flag says whether the answer was shared.
    pub async fn get(
        &self,
        key: &str,
        make: impl FnOnce(Option<Made>) -> BoxFuture<'static, Result<Made, Failure>>,
    ) -> (Result<Arc<String>, Failure>, bool) {
        let (pending, shared) = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            match slots.get(key) {
                Some(slot) if slot.made_at.elapsed() < self.ttl => (slot.answer.clone(), true),
                old => {
                    let previous = old.and_then(|s| s.answer.peek().and_then(|r| r.as_ref().ok().cloned()));
                    let answer = make(previous).shared();
                    if slots.len() >= MAX_SLOTS
                        && let Some(oldest) = slots.iter().min_by_key(|(_, s)| s.made_at).map(|(k, _)| k.clone())
                    {
                        slots.remove(&oldest);
                    }
                    slots.insert(
                        key.to_string(),
                        Slot {
                            made_at: Instant::now(),
                            answer: answer.clone(),
                        },
                    );
                    (answer, false)
                }
            }
        };
        let outcome = pending.await;
        if outcome.is_err() {
            // A failure is shared with those who waited for it, not kept.
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.get(key).and_then(|s| s.answer.peek()).is_some_and(|r| r.is_err()) {
                slots.remove(key);
            }
        }
        (outcome.map(|(_, answer)| answer), shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn fifty_at_once_make_one_and_a_failure_is_not_kept() {
        let cache = Arc::new(ReportCache::new(Duration::from_secs(60)));
        let made = Arc::new(AtomicUsize::new(0));
        let asks = (0..50).map(|_| {
            let (cache, made) = (cache.clone(), made.clone());
            async move {
                cache
                    .get("k", |_| {
                        async move {
                            made.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(("s".to_string(), Arc::new("answer".to_string())))
                        }
                        .boxed()
                    })
                    .await
            }
        });
        let answers = futures::future::join_all(asks).await;
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(answers.iter().filter(|(_, shared)| *shared).count(), 49);
        assert!(answers.iter().all(|(a, _)| a.as_deref().is_ok_and(|s| s == "answer")));

        let fail = || {
            async {
                Err(Failure {
                    status: 502,
                    message: "down".into(),
                })
            }
            .boxed()
        };
        assert!(cache.get("f", |_| fail()).await.0.is_err());
        let (again, shared) = cache
            .get("f", |_| async { Ok(("s".into(), Arc::new("ok".to_string()))) }.boxed())
            .await;
        assert!(!shared);
        assert_eq!(again.unwrap().as_str(), "ok");
    }

    #[tokio::test]
    async fn after_the_time_to_live_the_last_answer_is_offered() {
        let cache = ReportCache::new(Duration::from_millis(10));
        let (first, _) = cache
            .get("k", |_| async { Ok(("v1".into(), Arc::new("a1".to_string()))) }.boxed())
            .await;
        assert!(first.is_ok());
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (answer, shared) = cache
            .get("k", |previous| {
                async move {
                    let (state, answer) = previous.expect("the last answer is offered");
                    assert_eq!(state, "v1");
                    Ok((state, answer))
                }
                .boxed()
            })
            .await;
        assert!(!shared);
        assert_eq!(answer.unwrap().as_str(), "a1");
    }
}
