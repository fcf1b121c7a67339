//! The live change feed of the self-hosted server.
//!
//! The service publishes every change as it commits it: who may see it,
//! which of their collections (`files`, `shared`, `activity`) it touches,
//! and how (`added`, `modified`, `removed`). Each change gets the next number
//! of one global sequence and goes to its person's channel only, already
//! serialised, so that a connection never does work for changes it may not
//! see and 10,000 connections never serialise the same change 10,000 times.
//!
//! Each person's channel keeps their recent changes, so a client that
//! reconnects with its last number (and the server's `epoch`, which changes
//! at every start) gets exactly the changes it missed. When that is not
//! possible it gets a fresh snapshot instead, as a Firestore listener would.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::{UserId, random_token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    /// The person's own files.
    Files,
    /// The person's own folders.
    Folders,
    /// Files shared with the person, themselves or through a folder.
    Shared,
    /// Folders shared with the person, and the folders inside them.
    SharedFolders,
    /// The activity on the person's files.
    Activity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

/// One change as one person sees it.
#[derive(Debug, Clone)]
pub struct Change {
    pub user: UserId,
    pub collection: Collection,
    pub kind: ChangeKind,
    pub id: String,
    /// The document after the change; `None` for removals.
    pub doc: Option<serde_json::Value>,
}

/// Where changes go. Self-hosted: the `Hub`. Cloud: nowhere, because the
/// Firestore documents the API writes are themselves what browsers listen to.
pub trait ChangeSink: Send + Sync + 'static {
    fn publish(&self, changes: Vec<Change>);

    /// Whether published changes reach anyone. A sink that drops them lets
    /// the service skip the reads that only address changes (a file's
    /// readers: two Firestore round trips on every upload and rename).
    fn delivers(&self) -> bool {
        true
    }
}

/// Publishes nothing: for deployments whose store is its own feed.
pub struct NoFeed;

impl ChangeSink for NoFeed {
    fn publish(&self, _changes: Vec<Change>) {}

    fn delivers(&self) -> bool {
        false
    }
}

/// A change ready to send: its number and its JSON message.
#[derive(Debug)]
pub struct Delivery {
    pub seq: u64,
    pub json: String,
}

#[derive(Serialize)]
struct ChangeMessage<'a> {
    r#type: &'static str,
    seq: u64,
    collection: Collection,
    kind: ChangeKind,
    id: &'a str,
    doc: &'a Option<serde_json::Value>,
}

/// Changes kept per person for resuming.
const RETAINED: usize = 512;
/// Changes a slow connection may fall behind before it is resent a snapshot.
const CHANNEL: usize = 256;

struct PersonFeed {
    tx: broadcast::Sender<Arc<Delivery>>,
    recent: VecDeque<Arc<Delivery>>,
    /// The highest number that fell out of `recent`: resuming from before it
    /// would miss changes.
    forgotten: u64,
    last_change: Instant,
}

pub struct Hub {
    epoch: String,
    inner: Mutex<HubState>,
}

struct HubState {
    seq: u64,
    people: HashMap<UserId, PersonFeed>,
}

/// A connection's subscription.
pub struct Subscription {
    pub rx: broadcast::Receiver<Arc<Delivery>>,
    /// The current number when it subscribed.
    pub seq: u64,
    /// Missed changes to replay, when resuming was possible.
    pub replay: Option<Vec<Arc<Delivery>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self { epoch: random_token(8), inner: Mutex::new(HubState { seq: 0, people: HashMap::new() }) }
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Subscribes `user`; with `resume = Some((epoch, since))` also returns
    /// the changes after `since` if they are all still known.
    pub fn subscribe(&self, user: &UserId, resume: Option<(&str, u64)>) -> Subscription {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let seq = state.seq;
        // A channel made now knows nothing from before now: a resume from
        // an earlier number (the person's channel was pruned while their
        // laptop slept, or never existed here) gets a snapshot.
        let person = state.people.entry(user.clone()).or_insert_with(|| new_person(seq));
        let replay = resume.and_then(|(epoch, since)| {
            (epoch == self.epoch && since >= person.forgotten && since <= seq)
                .then(|| person.recent.iter().filter(|d| d.seq > since).cloned().collect())
        });
        Subscription { rx: person.tx.subscribe(), seq, replay }
    }

    /// Drops the channels of people with no connection and no change for an
    /// hour; they get a snapshot when they come back.
    pub fn prune(&self) {
        self.prune_idle(std::time::Duration::from_secs(3600));
    }

    /// `prune`, with how long a channel may stay idle.
    pub fn prune_idle(&self, idle: std::time::Duration) {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        state.people.retain(|_, p| p.tx.receiver_count() > 0 || p.last_change.elapsed() < idle);
    }

    pub fn connections(&self) -> usize {
        let state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        state.people.values().map(|p| p.tx.receiver_count()).sum()
    }
}

/// A channel that knows the changes after `seq`, none before.
fn new_person(seq: u64) -> PersonFeed {
    PersonFeed {
        tx: broadcast::channel(CHANNEL).0,
        recent: VecDeque::new(),
        forgotten: seq,
        last_change: Instant::now(),
    }
}

impl ChangeSink for Hub {
    fn publish(&self, changes: Vec<Change>) {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for c in changes {
            state.seq += 1;
            let seq = state.seq;
            let Some(person) = state.people.get_mut(&c.user) else {
                // Nobody has subscribed for this person since the start:
                // their first connection begins with a snapshot anyway.
                continue;
            };
            let msg =
                ChangeMessage { r#type: "change", seq, collection: c.collection, kind: c.kind, id: &c.id, doc: &c.doc };
            let delivery = Arc::new(Delivery { seq, json: serde_json::to_string(&msg).unwrap_or_default() });
            if person.recent.len() == RETAINED {
                if let Some(old) = person.recent.pop_front() {
                    person.forgotten = old.seq;
                }
            }
            person.recent.push_back(delivery.clone());
            person.last_change = Instant::now();
            let _ = person.tx.send(delivery);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(user: &UserId, id: &str) -> Change {
        Change { user: user.clone(), collection: Collection::Files, kind: ChangeKind::Added, id: id.into(), doc: None }
    }

    #[test]
    fn a_person_sees_only_their_changes_and_can_resume() {
        let hub = Hub::new();
        let (ann, bob) = (UserId::generate(), UserId::generate());
        let mut a = hub.subscribe(&ann, None);
        hub.publish(vec![change(&ann, "1"), change(&bob, "2"), change(&ann, "3")]);
        assert_eq!(a.rx.try_recv().unwrap().seq, 1);
        assert_eq!(a.rx.try_recv().unwrap().seq, 3);
        assert!(a.rx.try_recv().is_err());

        let r = hub.subscribe(&ann, Some((hub.epoch(), 1)));
        assert_eq!(r.replay.unwrap().iter().map(|d| d.seq).collect::<Vec<_>>(), vec![3]);
        assert!(hub.subscribe(&ann, Some(("other-epoch", 1))).replay.is_none());
        assert!(hub.subscribe(&ann, Some((hub.epoch(), 99))).replay.is_none());
    }

    #[test]
    fn resuming_after_the_channel_was_pruned_gives_a_snapshot() {
        let hub = Hub::new();
        let (ann, bob) = (UserId::generate(), UserId::generate());
        let a = hub.subscribe(&ann, None);
        let _b = hub.subscribe(&bob, None);
        hub.publish(vec![change(&ann, "1")]);
        // Ann's laptop sleeps: her connection goes, then her channel.
        drop(a);
        hub.prune_idle(std::time::Duration::ZERO);
        hub.publish(vec![change(&ann, "2"), change(&bob, "3")]);
        assert!(hub.subscribe(&ann, Some((hub.epoch(), 1))).replay.is_none(), "a snapshot, not an empty replay");
        // Bob's channel was kept: his resume replays.
        assert_eq!(hub.subscribe(&bob, Some((hub.epoch(), 1))).replay.unwrap().len(), 1);
        // From the new channel on, resuming works again.
        let now = hub.subscribe(&ann, None).seq;
        hub.publish(vec![change(&ann, "4")]);
        assert_eq!(hub.subscribe(&ann, Some((hub.epoch(), now))).replay.unwrap().len(), 1);
    }

    #[test]
    fn resuming_from_before_what_was_kept_gives_a_snapshot() {
        let hub = Hub::new();
        let ann = UserId::generate();
        let _a = hub.subscribe(&ann, None);
        hub.publish((0..RETAINED + 5).map(|i| change(&ann, &i.to_string())).collect());
        assert!(hub.subscribe(&ann, Some((hub.epoch(), 2))).replay.is_none());
        let latest = hub.subscribe(&ann, Some((hub.epoch(), (RETAINED + 4) as u64))).replay.unwrap();
        assert_eq!(latest.len(), 1);
    }
}
