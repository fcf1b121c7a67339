//! `livedrop watch`: the live feed of changes and activity in the terminal.
//!
//! Speaks the server's WebSocket feed (`/api/feed`): a snapshot, then one
//! message per change, numbered. When the connection drops it reconnects
//! with `?epoch=&since=` and so neither misses nor repeats a change.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use super::Ctx;
use super::client::{Api, server_key};
use super::error::{CliError, Exit, Result};
use super::format;

fn feed_url(api: &Api, resume: Option<&(String, u64)>) -> Result<String> {
    let mut url = api.url("/api/feed")?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).map_err(|_| CliError::failure("cannot make a WebSocket URL"))?;
    if let Some((epoch, since)) = resume {
        url.query_pairs_mut().append_pair("epoch", epoch).append_pair("since", &since.to_string());
    }
    Ok(url.to_string())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(api: &Api, resume: Option<&(String, u64)>) -> Result<Socket> {
    let mut req = feed_url(api, resume)?.into_client_request().map_err(|e| CliError::failure(e.to_string()))?;
    if let Some(t) = api.bearer(false).await? {
        let v = format!("Bearer {t}").parse().map_err(|_| CliError::failure("the stored token is not valid text"))?;
        req.headers_mut().insert("authorization", v);
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let e = serde_json::from_str::<Value>(&body).ok();
            let code = e.as_ref().and_then(|v| v["error"]["code"].as_str()).unwrap_or("");
            let msg = e.as_ref().and_then(|v| v["error"]["message"].as_str()).unwrap_or("");
            if status == 401 {
                return Err(api.refused_login());
            }
            if code == "not_supported" {
                // Cloud deployments: browsers listen to Firestore directly.
                return Err(CliError::new(
                    Exit::Refused,
                    format!("{} has no live feed for the terminal: it is a cloud deployment", api.server()),
                )
                .hint("watch it live in the web app; `livedrop ls` shows where things stand"));
            }
            Err(CliError::api(status, code, msg))
        }
        Err(e) => Err(CliError::new(
            Exit::Unreachable,
            format!("cannot reach the live feed of {}: {e}", server_key(&api.base)),
        )),
    }
}

fn clock() -> String {
    jiff::Zoned::now().strftime("%H:%M:%S").to_string()
}

/// One line for an activity record.
pub fn activity_line(a: &Value) -> String {
    let who = a["actor_email"].as_str().unwrap_or("someone");
    let file = a["file_name"].as_str().unwrap_or("a file");
    let detail = a["detail"].as_str().unwrap_or("");
    match a["kind"].as_str().unwrap_or("") {
        "uploaded" if detail.is_empty() => format!("{who} uploaded {file}"),
        "uploaded" => format!("{who} uploaded {file} into {detail}"),
        "shared" => format!("{who} shared {file} with {detail}"),
        "unshared" => format!("{who} stopped sharing {file} with {detail}"),
        "link_created" => format!("{who} made a public link to {file}"),
        "link_revoked" => format!("{who} revoked a public link to {file}"),
        "downloaded" if a["folder_id"].is_string() && detail == "zip" && a["actor_email"].is_string() => {
            format!("{who} downloaded {file} as ZIP")
        }
        "downloaded" if a["folder_id"].is_string() && detail == "zip" => {
            format!("{file} was downloaded as ZIP through a public link")
        }
        "downloaded" if a["actor_email"].is_string() => format!("{who} downloaded {file}"),
        "downloaded" if detail.is_empty() => format!("{file} was downloaded through a public link"),
        "downloaded" => format!("{file} was downloaded through a public link ({detail})"),
        "renamed" => format!("{who} renamed {detail} to {file}"),
        "moved" if detail.is_empty() => format!("{who} moved {file} to the top"),
        "moved" => format!("{who} moved {file} into {detail}"),
        "deleted" => format!("{who} deleted {file}"),
        other => format!("{who}: {other} {file}"),
    }
}

struct View {
    names: HashMap<String, String>,
}

impl View {
    fn remember(&mut self, files: &Value) {
        for f in files.as_array().into_iter().flatten() {
            if let (Some(id), Some(name)) = (f["id"].as_str(), f["name"].as_str()) {
                self.names.insert(id.to_owned(), name.to_owned());
            }
        }
    }

    fn change_line(&mut self, m: &Value) -> Option<String> {
        let id = m["id"].as_str().unwrap_or("");
        let doc = &m["doc"];
        if let Some(name) = doc["name"].as_str() {
            self.names.insert(id.to_owned(), name.to_owned());
        }
        let name = self.names.get(id).cloned().unwrap_or_else(|| id.to_owned());
        let size = doc["size"].as_u64().map(|s| format!(" ({})", format::size(s))).unwrap_or_default();
        let uploading = doc["status"].as_str() == Some("pending");
        // How far an upload in progress is, as its uploader last said.
        let progress = match (doc["received"].as_u64(), doc["size"].as_u64()) {
            (Some(r), Some(s)) if s > 0 => format!(" {}% of {}", r.min(s) * 100 / s, format::size(s)),
            _ => size.clone(),
        };
        let from = doc["owner_email"].as_str().unwrap_or("someone");
        let line = match (m["collection"].as_str()?, m["kind"].as_str()?) {
            ("files", "added" | "modified") if uploading => format!("uploading     {name}{progress}"),
            ("shared", "added" | "modified") if uploading => format!("{from} is uploading  {name}{progress}"),
            ("files", "added") => format!("new file      {name}{size}"),
            ("files", "modified") => format!("file changed  {name}{size}"),
            ("files", "removed") => format!("file removed  {name}"),
            ("shared", "added") => format!("shared with you  {name}{size} from {from}"),
            ("shared", "modified") => format!("shared file changed  {name}{size}"),
            ("shared", "removed") => format!("no longer shared with you  {name}"),
            ("folders", "added") => format!("new folder    {name}/"),
            ("folders", "modified") => format!("folder changed  {name}/"),
            ("folders", "removed") => format!("folder removed  {name}/"),
            ("activity", _) => format!("activity      {}", activity_line(doc)),
            (c, k) => format!("{c} {k} {id}"),
        };
        Some(format!("{}  {line}", clock()))
    }
}

pub async fn watch(ctx: &Ctx, json_out: bool, count: Option<u64>) -> Result<()> {
    let api = ctx.api()?;
    let mut resume: Option<(String, u64)> = None;
    let mut view = View { names: HashMap::new() };
    let mut changes = 0u64;
    let mut failures = 0u32;
    let mut connected_once = false;
    loop {
        let mut ws = match connect(&api, resume.as_ref()).await {
            Ok(ws) => ws,
            Err(e) if e.exit == Exit::Unreachable && connected_once && failures < 30 => {
                failures += 1;
                if !ctx.quiet {
                    eprintln!("livedrop: the live feed dropped; reconnecting ({})", e.message);
                }
                tokio::time::sleep(Duration::from_millis(500 * u64::from(failures.min(10)))).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        connected_once = true;
        failures = 0;
        loop {
            let msg = tokio::select! {
                m = ws.next() => m,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                // The server ends feeds whose credential was signed out or revoked.
                Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 4401 => return Err(api.refused_login()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            };
            let Ok(m) = serde_json::from_str::<Value>(&text) else { continue };
            if json_out {
                println!("{text}");
            }
            match m["type"].as_str().unwrap_or("") {
                "snapshot" => {
                    resume = Some((m["epoch"].as_str().unwrap_or("").to_owned(), m["seq"].as_u64().unwrap_or(0)));
                    view.remember(&m["files"]);
                    view.remember(&m["shared"]);
                    view.remember(&m["folders"]);
                    if !json_out {
                        let n = m["files"].as_array().map_or(0, Vec::len);
                        let s = m["shared"].as_array().map_or(0, Vec::len);
                        println!(
                            "watching {} ({n} file{}, {s} shared with you); Ctrl-C stops",
                            api.server(),
                            if n == 1 { "" } else { "s" }
                        );
                    }
                }
                "resumed" => {
                    resume = Some((m["epoch"].as_str().unwrap_or("").to_owned(), m["seq"].as_u64().unwrap_or(0)));
                }
                "change" => {
                    if let (Some((_, since)), Some(seq)) = (resume.as_mut(), m["seq"].as_u64()) {
                        *since = seq;
                    }
                    if !json_out {
                        if let Some(line) = view.change_line(&m) {
                            println!("{line}");
                        }
                    }
                    changes += 1;
                    if count.is_some_and(|c| changes >= c) {
                        let _ = ws.close(None).await;
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        if !ctx.quiet {
            eprintln!("livedrop: the live feed dropped; reconnecting");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activity_reads_as_a_sentence() {
        let a = json!({ "kind": "shared", "actor_email": "ann@x.test", "file_name": "a.txt", "detail": "bob@x.test" });
        assert_eq!(activity_line(&a), "ann@x.test shared a.txt with bob@x.test");
        let z = json!({ "kind": "downloaded", "actor_email": "bob@x.test", "file_name": "Trip", "folder_id": "f1", "detail": "zip" });
        assert_eq!(activity_line(&z), "bob@x.test downloaded Trip as ZIP");
        let d = json!({ "kind": "downloaded", "actor_email": null, "file_name": "a.txt", "detail": null });
        assert_eq!(activity_line(&d), "a.txt was downloaded through a public link");
        let l = json!({ "kind": "downloaded", "actor_email": null, "file_name": "Trip", "folder_id": "f1", "link_id": "l1", "detail": "zip" });
        assert_eq!(activity_line(&l), "Trip was downloaded as ZIP through a public link");
        let u = json!({ "kind": "uploaded", "actor_email": "ann@x.test", "file_name": "img.jpg", "detail": "day 1" });
        assert_eq!(activity_line(&u), "ann@x.test uploaded img.jpg into day 1");
        let top = json!({ "kind": "uploaded", "actor_email": "ann@x.test", "file_name": "img.jpg", "detail": null });
        assert_eq!(activity_line(&top), "ann@x.test uploaded img.jpg");
    }
}
