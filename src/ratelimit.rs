//! Rate limits on guesses: sign-in attempts and link passwords.
//!
//! An attempt is counted *before* its password is checked, atomically, so
//! that 50 guesses sent at once make at most the limit's worth of checks
//! (and of argon2 hashes, 19 MiB each). A success is then forgiven: only
//! failures use up a limit, so a person who types the right password is
//! never slowed down by it. Fixed windows per key.
//!
//! Where the counts live is the `Attempts` trait: in memory for the one
//! self-hosted process (`MemoryAttempts`), in Firestore in the cloud, where
//! every function instance must see the same counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::{Error, Result};

/// How many attempts a key has, per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// Where attempts are counted.
#[async_trait]
pub trait Attempts: Send + Sync + 'static {
    /// Counts one attempt under `key`, or refuses it
    /// (`Error::RateLimited`, with how long to wait) when `limit.max` have
    /// been counted in the current window. Atomic: of racing calls, at most
    /// `limit.max` per window pass.
    async fn begin(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()>;
    /// The attempt `begin` counted succeeded: it stops counting.
    async fn forgive(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()>;
}

/// A window as `Attempts` implementations keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When the window began, in milliseconds since the epoch.
    pub start_ms: i64,
    pub count: u32,
}

impl Window {
    /// The window after one more attempt at `now`, or the refusal.
    pub fn begin(current: Option<Window>, limit: Limit, now: Timestamp) -> Result<Window> {
        let now_ms = now.as_millisecond();
        let window_ms = limit.window.as_millis() as i64;
        match current {
            Some(w) if now_ms - w.start_ms < window_ms => {
                if w.count >= limit.max {
                    let left_ms = window_ms - (now_ms - w.start_ms);
                    return Err(Error::RateLimited { retry_after_secs: (left_ms as u64).div_ceil(1000).max(1) });
                }
                Ok(Window { count: w.count + 1, ..w })
            }
            _ => Ok(Window { start_ms: now_ms, count: 1 }),
        }
    }

    /// The window after forgiving one attempt, if it is still current.
    pub fn forgive(current: Option<Window>, limit: Limit, now: Timestamp) -> Option<Window> {
        let w = current?;
        (now.as_millisecond() - w.start_ms < limit.window.as_millis() as i64 && w.count > 0)
            .then_some(Window { count: w.count - 1, ..w })
    }
}

/// The counts of one process.
#[derive(Default)]
pub struct MemoryAttempts {
    windows: Mutex<HashMap<String, Window>>,
}

#[async_trait]
impl Attempts for MemoryAttempts {
    async fn begin(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            let (now_ms, window_ms) = (now.as_millisecond(), limit.window.as_millis() as i64);
            windows.retain(|_, w| now_ms - w.start_ms < window_ms);
        }
        let next = Window::begin(windows.get(key).copied(), limit, now)?;
        windows.insert(key.to_owned(), next);
        Ok(())
    }

    async fn forgive(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(next) = Window::forgive(windows.get(key).copied(), limit, now) {
            windows.insert(key.to_owned(), next);
        }
        Ok(())
    }
}

/// One kind of limit (its numbers), over where its attempts are counted.
pub struct RateLimiter {
    limit: Limit,
    attempts: Arc<dyn Attempts>,
}

impl RateLimiter {
    /// Counted in this process's memory.
    pub fn new(max: u32, window: Duration) -> Self {
        Self::counted_in(Arc::new(MemoryAttempts::default()), max, window)
    }

    pub fn counted_in(attempts: Arc<dyn Attempts>, max: u32, window: Duration) -> Self {
        Self { limit: Limit { max, window }, attempts }
    }

    /// Counts an attempt before it is checked; refuses once the limit is used.
    pub async fn begin(&self, key: &str) -> Result<()> {
        self.attempts.begin(key, self.limit, Timestamp::now()).await
    }

    /// The attempt succeeded (or was never checked): it stops counting.
    pub async fn forgive(&self, key: &str) -> Result<()> {
        self.attempts.forgive(key, self.limit, Timestamp::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_before_the_check_forgives_successes_and_only_for_that_key() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        l.begin("a").await.unwrap();
        l.begin("a").await.unwrap();
        assert!(matches!(l.begin("a").await, Err(Error::RateLimited { .. })), "two attempts in flight use it up");
        l.forgive("a").await.unwrap();
        l.begin("a").await.unwrap();
        l.begin("b").await.unwrap();
    }

    #[test]
    fn a_window_refuses_with_the_time_left_and_starts_again_after() {
        let limit = Limit { max: 1, window: Duration::from_secs(300) };
        let t0 = Timestamp::from_second(1_000_000).unwrap();
        let w = Window::begin(None, limit, t0).unwrap();
        let later = t0 + jiff::SignedDuration::from_secs(100);
        match Window::begin(Some(w), limit, later) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 200),
            other => panic!("{other:?}"),
        }
        let next = t0 + jiff::SignedDuration::from_secs(300);
        assert_eq!(Window::begin(Some(w), limit, next).unwrap(), Window { start_ms: next.as_millisecond(), count: 1 });
        assert_eq!(Window::forgive(Some(w), limit, next), None, "an old window is not forgiven into");
    }
}
