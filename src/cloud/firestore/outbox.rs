//! Mail in the cloud. The outbox: `outbox/{id}`, which no client may read
//! (`firestore.rules` denies it); letters are leased by a transaction
//! before they are sent, so that two function instances delivering at once
//! never send one twice. Each person's mail preferences:
//! `preferences/{user id}`, read through the API only.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::FirestoreStore;
use super::docs::{OUTBOX, PREFERENCES};
use super::rpc::{self, TxFail, decode};
use crate::domain::UserId;
use crate::domain::{Email, random_token};
use crate::error::{Error, Result};
use crate::mail::{Letter, Outbox, Queued};
use crate::store::MailPreferences;

#[derive(Debug, Serialize, Deserialize)]
struct OutboxDoc {
    recipient: String,
    subject: String,
    body: String,
    attempts: i64,
    next_at_ms: i64,
    created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

/// The fields a retry changes.
#[derive(Serialize)]
struct RetryPatch<'a> {
    attempts: i64,
    next_at_ms: i64,
    last_error: &'a str,
}

#[derive(Serialize)]
struct LeasePatch {
    next_at_ms: i64,
}

#[async_trait]
impl Outbox for FirestoreStore {
    async fn enqueue(&self, letter: &Letter, at: Timestamp) -> Result<()> {
        let doc = OutboxDoc {
            recipient: letter.to.to_string(),
            subject: letter.subject.clone(),
            body: letter.body.clone(),
            attempts: 0,
            next_at_ms: at.as_millisecond(),
            created_at_ms: at.as_millisecond(),
            last_error: None,
        };
        let path = self.path(OUTBOX, &random_token(16));
        self.rpc.commit(None, vec![rpc::create(&path, &doc)?]).await.map_err(TxFail::into_error)
    }

    async fn due(&self, at: Timestamp, lease_until: Timestamp, limit: usize) -> Result<Vec<Queued>> {
        let at_ms = at.as_millisecond();
        let docs = self
            .query(
                OUTBOX,
                |f| f.for_all([f.field("next_at_ms").less_than_or_equal(at_ms)]),
                vec![("next_at_ms", ::firestore::FirestoreQueryDirection::Ascending)],
                None,
                Some(limit as u64),
            )
            .await?;
        let mut leased = Vec::new();
        for d in docs {
            let path = d.name.clone();
            // Leased in a transaction that reads it again: if another
            // sender took it first, its next_at has moved on.
            let taken = self
                .rpc
                .transact(|| async {
                    let (tx, found) = self.rpc.get(std::slice::from_ref(&path), None, true).await?;
                    let tx = tx.unwrap_or_default();
                    let Some(doc) = found[0].as_ref() else {
                        self.rpc.rollback(tx).await;
                        return Ok(None);
                    };
                    let o = decode::<OutboxDoc>(doc)?;
                    if o.next_at_ms > at_ms {
                        self.rpc.rollback(tx).await;
                        return Ok(None);
                    }
                    let lease = LeasePatch { next_at_ms: lease_until.as_millisecond() };
                    self.rpc.commit(Some(tx), vec![rpc::patch(&path, &lease)?]).await?;
                    Ok(Some(o))
                })
                .await;
            let o = match taken {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                // Another sender is on it.
                Err(e) if rpc::contended(&e) => continue,
                Err(e) => return Err(e),
            };
            let to = Email::parse(&o.recipient).map_err(|e| Error::internal(format!("stored recipient: {e}")))?;
            let id = path.rsplit('/').next().unwrap_or_default().to_owned();
            let attempts = u32::try_from(o.attempts).unwrap_or(u32::MAX);
            leased.push(Queued { id, letter: Letter { to, subject: o.subject, body: o.body }, attempts });
        }
        Ok(leased)
    }

    async fn remove(&self, id: &str) -> Result<()> {
        self.rpc.commit(None, vec![rpc::delete(&self.path(OUTBOX, id))]).await.map_err(TxFail::into_error)
    }

    async fn retry(&self, id: &str, next_at: Timestamp, error: &str) -> Result<()> {
        let path = self.path(OUTBOX, id);
        let (_, found) = self.rpc.get(std::slice::from_ref(&path), None, false).await.map_err(TxFail::into_error)?;
        let Some(doc) = found[0].as_ref() else { return Ok(()) };
        let o = decode::<OutboxDoc>(doc)?;
        let error: String = error.chars().take(500).collect();
        let patch = RetryPatch { attempts: o.attempts + 1, next_at_ms: next_at.as_millisecond(), last_error: &error };
        self.rpc.commit(None, vec![rpc::patch(&path, &patch)?]).await.map_err(TxFail::into_error)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>> {
        let docs = self
            .query(
                OUTBOX,
                |f| f.for_all([f.field("next_at_ms").greater_than_or_equal(0)]),
                vec![("next_at_ms", ::firestore::FirestoreQueryDirection::Ascending)],
                None,
                Some(1),
            )
            .await?;
        match docs.first() {
            Some(d) => Ok(Timestamp::from_millisecond(decode::<OutboxDoc>(d)?.next_at_ms).ok()),
            None => Ok(None),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PreferencesDoc {
    #[serde(default)]
    download_notices: bool,
}

#[async_trait]
impl MailPreferences for FirestoreStore {
    async fn download_notices(&self, user: &UserId) -> Result<bool> {
        let path = self.path(PREFERENCES, user.as_str());
        let (_, found) = self.rpc.get(std::slice::from_ref(&path), None, false).await.map_err(TxFail::into_error)?;
        Ok(found[0].as_ref().map(decode::<PreferencesDoc>).transpose()?.unwrap_or_default().download_notices)
    }

    async fn set_download_notices(&self, user: &UserId, on: bool) -> Result<()> {
        let path = self.path(PREFERENCES, user.as_str());
        let doc = PreferencesDoc { download_notices: on };
        self.rpc.commit(None, vec![rpc::set(&path, &doc)?]).await.map_err(TxFail::into_error)
    }
}
