//! Failure-counting rate limits: sign-in attempts and link passwords.
//!
//! Only failures count, so a person who types the right password is never
//! slowed down by their own earlier success. Fixed windows keyed by an
//! arbitrary string; memory is bounded by pruning expired windows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub struct RateLimiter {
    max_failures: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures, window, windows: Mutex::default() }
    }

    /// Refuses if `key` has used up its failures in the current window.
    pub fn check(&self, key: &str) -> Result<()> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((start, failures)) = windows.get(key) {
            let elapsed = start.elapsed();
            if elapsed < self.window && *failures >= self.max_failures {
                let retry_after_secs = (self.window - elapsed).as_secs().max(1);
                return Err(Error::RateLimited { retry_after_secs });
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            let window = self.window;
            windows.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_allowed_failures_and_only_for_that_key() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        l.check("a").unwrap();
        l.record_failure("a");
        l.record_failure("a");
        assert!(matches!(l.check("a"), Err(Error::RateLimited { .. })));
        l.check("b").unwrap();
    }
}
