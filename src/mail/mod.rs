//! E-mail: the letters livedrop sends, the queue they wait in and the
//! postman who sends them.
//!
//! A request never waits for mail and never fails because of it: the
//! service puts a `Letter` in the `Outbox` and wakes the `Postman`, who
//! sends in the background over SMTP and retries with backoff. Every
//! outcome is logged (target `livedrop::mail`). Without SMTP settings there
//! is no postman: nothing is queued, and the service hands the owner the
//! invitation link to pass on by hand instead.
//!
//! - `letters`: what each letter says.
//! - `smtp`: the settings (`LIVEDROP_SMTP_*`) and the lettre transport.
//! - `sqlite`: the self-hosted outbox, a table in `livedrop.db`.

pub mod letters;
pub mod smtp;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Mutex, Notify};

use crate::domain::Email;
use crate::error::Result;

/// One message to one person, plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: Email,
    pub subject: String,
    pub body: String,
}

/// A letter in the outbox.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: String,
    pub letter: Letter,
    /// Attempts made so far.
    pub attempts: u32,
}

/// Where letters wait until they are sent.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    async fn enqueue(&self, letter: &Letter, at: Timestamp) -> Result<()>;
    /// Letters whose next attempt is due at `at`, oldest first. Where
    /// several processes send (function instances), each is leased to the
    /// caller until `lease_until`: nobody else is handed it before then, so
    /// no letter goes out twice, and one whose sender died goes out later.
    async fn due(&self, at: Timestamp, lease_until: Timestamp, limit: usize) -> Result<Vec<Queued>>;
    /// The letter is sent, or given up on: it leaves the outbox.
    async fn remove(&self, id: &str) -> Result<()>;
    /// An attempt failed; try again at `next_at`.
    async fn retry(&self, id: &str, next_at: Timestamp, error: &str) -> Result<()>;
    /// When the next letter is due, if any is waiting.
    async fn next_due(&self) -> Result<Option<Timestamp>>;
}

/// Sends one letter, or says why it could not.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, letter: &Letter) -> std::result::Result<(), String>;
}

/// How long to wait after each failed attempt; after the last, the letter
/// is given up on (about a day and a half of trying in all; the first retries come quickly, for a relay that restarts).
const BACKOFF_SECS: [i64; 7] = [5, 30, 2 * 60, 10 * 60, 3600, 6 * 3600, 24 * 3600];

/// The longest the postman waits between looks at the outbox, for letters
/// another process may have queued.
const ROUND: Duration = Duration::from_secs(60);

/// How long a sender holds the letters it took; more than a send's timeout.
const LEASE: SignedDuration = SignedDuration::from_secs(120);

/// Runs a round of deliveries after a letter is posted, where there is no
/// postman running in the background (a Vercel function: the round must
/// finish before the invocation ends, `cloud::vercel::after_response`).
pub type Runner = Arc<dyn Fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) + Send + Sync>;

/// What one round of deliveries did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: u32,
    pub retried: u32,
    pub given_up: u32,
}

pub struct Postman {
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    /// Where the app is reached (`https://files.example.com`), for the
    /// links in letters: never taken from a request's Host header, which
    /// whoever sends the request chooses.
    public_url: String,
    wake: Notify,
    /// One round at a time in this process.
    round: Mutex<()>,
    /// `None`: the loop of `spawn` delivers, woken by each post.
    runner: Option<Runner>,
}

impl Postman {
    pub fn new(outbox: Arc<dyn Outbox>, mailer: Arc<dyn Mailer>, public_url: &str) -> Self {
        Self {
            outbox,
            mailer,
            public_url: public_url.trim_end_matches('/').to_owned(),
            wake: Notify::new(),
            round: Mutex::new(()),
            runner: None,
        }
    }

    /// Delivers through `runner` right after each post, instead of a loop
    /// in the background.
    pub fn with_runner(mut self, runner: Runner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// An absolute link to `path` (which starts with `/`) in the app.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// Queues `letter` and wakes the postman. A failure to queue is logged,
    /// not returned: the request that wrote the letter has succeeded.
    pub async fn post(self: &Arc<Self>, letter: Letter) {
        if let Err(e) = self.outbox.enqueue(&letter, crate::service::now()).await {
            tracing::error!(target: "livedrop::mail", to = %letter.to, error = %e, "mail not queued");
            return;
        }
        match &self.runner {
            None => self.wake.notify_one(),
            Some(run) => {
                let me = self.clone();
                run(Box::pin(async move {
                    if let Err(e) = me.deliver_due().await {
                        tracing::error!(target: "livedrop::mail", error = %e, "reading the outbox failed");
                    }
                }));
            }
        }
    }

    /// Sends every letter that is due, each once.
    pub async fn deliver_due(&self) -> Result<Delivery> {
        let _one = self.round.lock().await;
        let mut done = Delivery::default();
        loop {
            let at = crate::service::now();
            let due = self.outbox.due(at, at + LEASE, 50).await?;
            if due.is_empty() {
                return Ok(done);
            }
            for q in due {
                match self.mailer.send(&q.letter).await {
                    Ok(()) => {
                        self.outbox.remove(&q.id).await?;
                        tracing::info!(target: "livedrop::mail", to = %q.letter.to, subject = %q.letter.subject, "mail sent");
                        done.sent += 1;
                    }
                    Err(e) => match BACKOFF_SECS.get(q.attempts as usize) {
                        Some(&wait) => {
                            let next = crate::service::now() + SignedDuration::from_secs(wait);
                            self.outbox.retry(&q.id, next, &e).await?;
                            tracing::warn!(target: "livedrop::mail", to = %q.letter.to, attempt = q.attempts + 1, retry_in_secs = wait, error = %e, "mail not sent; will retry");
                            done.retried += 1;
                        }
                        None => {
                            self.outbox.remove(&q.id).await?;
                            tracing::error!(target: "livedrop::mail", to = %q.letter.to, subject = %q.letter.subject, attempts = q.attempts + 1, error = %e, "mail given up");
                            done.given_up += 1;
                        }
                    },
                }
            }
        }
    }

    /// Delivers in the background until the process ends: at once when a
    /// letter is posted, and when a retry falls due.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let next = match me.deliver_due().await.and(me.outbox.next_due().await) {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::error!(target: "livedrop::mail", error = %e, "reading the outbox failed");
                        None
                    }
                };
                let wait = next
                    .map(|at| Duration::try_from(at.duration_since(crate::service::now())).unwrap_or_default())
                    .map_or(ROUND, |d| d.min(ROUND))
                    .max(Duration::from_millis(100));
                let _ = tokio::time::timeout(wait, me.wake.notified()).await;
            }
        })
    }
}
