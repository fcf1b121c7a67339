//! The time that cloud code reads, injected so that tests can fix it: V4
//! signatures embed the signing time, and token checks and caches compare
//! against it.

use std::sync::Arc;

use jiff::Timestamp;

/// Returns "now". Cheap to clone.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The machine's clock.
pub fn system() -> Clock {
    Arc::new(Timestamp::now)
}

/// A clock that always says `at`.
pub fn fixed(at: Timestamp) -> Clock {
    Arc::new(move || at)
}
