//! The self-hosted outbox: table `outbox` in `livedrop.db` (schema step 2
//! in `store::sqlite`), so letters outlive a restart.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::params;

use super::{Letter, Outbox, Queued};
use crate::domain::{Email, random_token};
use crate::error::{Error, Result};
use crate::store::sqlite::{Db, ms};

pub struct SqliteOutbox {
    db: Arc<Db>,
}

impl SqliteOutbox {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Outbox for SqliteOutbox {
    async fn enqueue(&self, letter: &Letter, at: Timestamp) -> Result<()> {
        let (id, l) = (random_token(16), letter.clone());
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO outbox (id, recipient, subject, body, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![id, l.to.as_str(), l.subject, l.body, ms(at)],
                )?;
                Ok(())
            })
            .await
    }

    /// Nothing is leased: the server process is the only sender of its
    /// outbox (the cron route and `livedrop sweep` run in it too) and
    /// `Postman` runs one round at a time, so after a restart a letter cut
    /// off mid-send goes out at once.
    async fn due(&self, at: Timestamp, _lease_until: Timestamp, limit: usize) -> Result<Vec<Queued>> {
        let rows: Vec<(String, String, String, String, u32)> = self
            .db
            .read(move |c| {
                let mut q = c.prepare(
                    "SELECT id, recipient, subject, body, attempts FROM outbox WHERE next_at <= ?1
                     ORDER BY next_at, created_at LIMIT ?2",
                )?;
                let rows = q.query_map(params![ms(at), limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(id, to, subject, body, attempts)| {
                let to = Email::parse(&to).map_err(|e| Error::internal(format!("stored recipient: {e}")))?;
                Ok(Queued { id, letter: Letter { to, subject, body }, attempts })
            })
            .collect()
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.db
            .write(move |tx| {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
                Ok(())
            })
            .await
    }

    async fn next_due(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> =
            self.db.read(|c| Ok(c.query_row("SELECT MIN(next_at) FROM outbox", [], |r| r.get(0))?)).await?;
        Ok(at.map(crate::store::sqlite::ts))
    }

    async fn retry(&self, id: &str, next_at: Timestamp, error: &str) -> Result<()> {
        let (id, error) = (id.to_owned(), error.chars().take(500).collect::<String>());
        self.db
            .write(move |tx| {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1",
                    params![id, ms(next_at), error],
                )?;
                Ok(())
            })
            .await
    }
}
