//! `GET /api/feed`: a person's live changes over a WebSocket.
//!
//! On connect: a `snapshot` (or, with `?epoch=E&since=N` from an earlier
//! connection, `resumed` and the changes missed since `N`), then every
//! `change` as it happens, each with its number. See `feed.rs`.
//!
//! A connection lives no longer than the credential that opened it: when
//! that session is signed out or expires, or that API token is revoked, the
//! server closes it with code 4401, and the client's reconnection is refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{AppState, Authed};
use crate::domain::User;
use crate::error::{Error, Result};
use crate::feed::{Hub, Subscription};
use crate::service::Service;

/// Small buffers: an idle connection should cost a few KiB, not the
/// library's default 128 KiB.
const READ_BUFFER: usize = 4 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);

/// A browser may only open the feed from our own pages: the cookie would
/// otherwise let any site read a person's files (cross-site WebSocket
/// hijacking). Scripts with bearer tokens send no `Origin`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

pub async fn feed(
    State(state): State<AppState>,
    Authed(p): Authed,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    let hub = state.hub.clone().ok_or(Error::NotSupported)?;
    if p.csrf_token.is_some() && !same_origin(&headers) {
        return Err(Error::CsrfFailed);
    }
    let resume = match (q.get("epoch"), q.get("since")) {
        (Some(e), Some(s)) => {
            Some((e.clone(), s.parse::<u64>().map_err(|_| Error::InvalidRequest("since must be a number".into()))?))
        }
        _ => None,
    };
    let service = state.service.clone();
    // Subscribed before the upgrade: an end announced meanwhile is not missed.
    let ended = match (&state.accounts, p.credential) {
        (Some(accounts), Some(key)) => Some(Ended { rx: accounts.ended(), key, expires_at: p.expires_at }),
        _ => None,
    };
    Ok(ws.read_buffer_size(READ_BUFFER).write_buffer_size(0).max_message_size(64 * 1024).on_upgrade(
        move |socket| async move {
            if let Err(e) = serve(socket, service, hub, p.user, resume, ended).await {
                tracing::debug!(error = %e, "feed connection ended");
            }
        },
    ))
}

/// Tells a connection when its credential ends.
struct Ended {
    rx: broadcast::Receiver<String>,
    key: String,
    expires_at: Option<jiff::Timestamp>,
}

/// Close code for "the credential that opened this connection has ended".
const CLOSE_SIGNED_OUT: u16 = 4401;

/// Resolves when the connection's credential is signed out or revoked, or
/// may have been (the announcements lagged); never for a connection without
/// one. Cancel-safe: a fresh call each turn of the connection's loop.
async fn credential_ended(ended: &mut Option<Ended>) {
    let Some(e) = ended else { return std::future::pending().await };
    loop {
        match e.rx.recv().await {
            Ok(key) if key == e.key => return,
            Ok(_) => {}
            // Some were missed: ours may be among them. The client
            // reconnects and authenticates again.
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Ends a connection whose credential has ended.
async fn close_signed_out(socket: &mut WebSocket) -> Result<()> {
    let frame = CloseFrame { code: CLOSE_SIGNED_OUT, reason: "signed out".into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
    Ok(())
}

/// Resolves when a session with an expiry runs out: one timer for the
/// connection's life, not one per message.
async fn credential_expired(expires_at: Option<jiff::Timestamp>) {
    match expires_at {
        Some(at) => {
            let left = at.duration_since(jiff::Timestamp::now());
            tokio::time::sleep(left.try_into().unwrap_or_default()).await;
        }
        None => std::future::pending().await,
    }
}

async fn send(socket: &mut WebSocket, text: impl Into<Utf8Bytes>) -> Result<()> {
    socket.send(Message::Text(text.into())).await.map_err(|e| Error::internal(format!("send: {e}")))
}

/// Subscribes and sends a snapshot; returns the subscription and the
/// number the snapshot stands at.
async fn snapshot(socket: &mut WebSocket, service: &Service, hub: &Hub, user: &User) -> Result<(Subscription, u64)> {
    let (sub, snap) = service.snapshot(user, || hub.subscribe(&user.id, None)).await?;
    let seq = sub.seq;
    let msg = json!({
        "type": "snapshot",
        "epoch": hub.epoch(),
        "seq": seq,
        "files": snap.files,
        "folders": snap.folders,
        "shared": snap.shared,
        "shared_folders": snap.shared_folders,
        "activity": snap.activity,
    });
    send(socket, msg.to_string()).await?;
    Ok((sub, seq))
}

async fn serve(
    mut socket: WebSocket,
    service: Arc<Service>,
    hub: Arc<Hub>,
    user: User,
    resume: Option<(String, u64)>,
    mut ended: Option<Ended>,
) -> Result<()> {
    let resumed = resume.as_ref().map(|(e, s)| hub.subscribe(&user.id, Some((e, *s))));
    let (mut sub, mut last) = match resumed {
        Some(Subscription { rx, seq, replay: Some(replay) }) => {
            let since = resume.map(|(_, s)| s).unwrap_or(0);
            send(&mut socket, json!({ "type": "resumed", "epoch": hub.epoch(), "seq": since }).to_string()).await?;
            let mut last = since;
            for d in replay {
                send(&mut socket, d.json.clone()).await?;
                last = d.seq;
            }
            (Subscription { rx, seq, replay: None }, last)
        }
        _ => snapshot(&mut socket, &service, &hub, &user).await?,
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let expired = credential_expired(ended.as_ref().and_then(|e| e.expires_at));
    tokio::pin!(expired);
    loop {
        tokio::select! {
            delivery = sub.rx.recv() => match delivery {
                // Changes already in a snapshot or a replay are skipped.
                Ok(d) if d.seq <= last => {}
                Ok(d) => {
                    send(&mut socket, d.json.clone()).await?;
                    last = d.seq;
                }
                Err(RecvError::Lagged(_)) => {
                    // Too far behind to catch up change by change: start over.
                    (sub, last) = snapshot(&mut socket, &service, &hub, &user).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            () = credential_ended(&mut ended) => return close_signed_out(&mut socket).await,
            () = &mut expired => return close_signed_out(&mut socket).await,
            _ = ping.tick() => {
                socket.send(Message::Ping(Default::default())).await.map_err(|e| Error::internal(format!("ping: {e}")))?;
            }
        }
    }
}
