//! The API handlers: parse, call the service, shape the answer.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{AppState, Authed, ClientIp, Json, OPENAPI, Rechecked, SESSION_COOKIE, SecureCookies, session_cookie};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::identity::{LocalAccounts, NewSession, Proof};
use crate::mail::{Postman, letters};
use crate::service::{FileChange, LinkView, NewLink, NewUpload};
use crate::store::{FileQuery, Scope, SortKey, Within};

type Reply = Result<Response>;

fn ok(v: serde_json::Value) -> Reply {
    Ok(axum::Json(v).into_response())
}

fn created(v: serde_json::Value) -> Reply {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A JSON body that may be left out entirely (`POST` with nothing in it).
pub(super) fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Error::InvalidRequest(format!("the JSON body is not valid: {e}")))
}

fn accounts(state: &AppState) -> Result<&LocalAccounts> {
    state.accounts.as_deref().ok_or(Error::NotSupported)
}

pub async fn health() -> Reply {
    ok(json!({ "status": "ok" }))
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn config(State(state): State<AppState>) -> Reply {
    ok(serde_json::to_value(&state.client_config).map_err(Error::internal)?)
}

pub async fn no_route() -> Error {
    Error::not_found("API route")
}

/// A path that exists, asked with a method it does not take. axum adds the
/// `Allow` header (RFC 9110) listing the ones it does.
pub async fn method_not_allowed(method: Method) -> Response {
    let message = format!("this path does not take {method}; see the Allow header");
    let body = json!({ "error": { "code": "method_not_allowed", "message": message } });
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

// ----- accounts -----

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

fn session_response(secure: bool, status: StatusCode, s: NewSession) -> Reply {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{secure}", s.token);
    let mut resp = (status, axum::Json(json!({ "user": s.user, "csrf_token": s.csrf_token }))).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(Error::internal)?);
    Ok(resp)
}

pub async fn sign_up(
    State(state): State<AppState>,
    SecureCookies(secure): SecureCookies,
    Json(c): Json<Credentials>,
) -> Reply {
    let accounts = accounts(&state)?;
    if !state.service.config.signup_open {
        return Err(Error::SignupClosed);
    }
    let email = Email::parse(&c.email)?;
    let password = Password::parse(&c.password)?;
    let session = accounts.sign_up(email, password).await?;
    // Nothing shared with the address is claimed yet: signing up under an
    // address proves nothing. The letter, or an invitation's link, does.
    if let Some(postman) = state.service.postman() {
        send_verification(accounts, postman, &session.user.email).await?;
    }
    session_response(secure, StatusCode::CREATED, session)
}

async fn send_verification(accounts: &LocalAccounts, postman: &std::sync::Arc<Postman>, email: &Email) -> Result<()> {
    let token = accounts.new_proof(email, Proof::Verify).await?;
    postman.post(letters::verify_address(email, &postman.link(&format!("/verify/?token={token}")))).await;
    Ok(())
}

#[derive(Deserialize)]
pub struct AddressProof {
    token: String,
}

/// Proves the person's address with the token of a confirmation letter or
/// an invitation link, and hands them what was shared with the address.
pub async fn verify_address(State(state): State<AppState>, Authed(p): Authed, Json(v): Json<AddressProof>) -> Reply {
    let accounts = accounts(&state)?;
    // 256 random bits, base64url: what `new_proof` hands out.
    if v.token.len() != 43 || !v.token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::InvalidRequest("token must be the 43 characters after `token=` in the link".into()));
    }
    accounts.prove(&p.user, &v.token).await?;
    state.service.welcome(&p.user).await?;
    ok(json!({ "email_verified": true }))
}

/// Sends the confirmation letter again; a few times an hour at most.
pub async fn resend_verification(State(state): State<AppState>, Authed(p): Authed) -> Reply {
    let accounts = accounts(&state)?;
    let postman = state.service.postman().ok_or(Error::MailNotConfigured)?;
    if state.service.address_verified(&p.user).await? {
        return ok(json!({ "email_verified": true, "sent": false }));
    }
    state.mail_limits.begin(&format!("verify-mail:{}", p.user.id)).await?;
    send_verification(accounts, postman, &p.user.email).await?;
    ok(json!({ "email_verified": false, "sent": true }))
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SecureCookies(secure): SecureCookies,
    Json(c): Json<Credentials>,
) -> Reply {
    let accounts = accounts(&state)?;
    let email = Email::parse(&c.email)?;
    // Failures count against the account and against the client: one
    // guesses a password, the other tries one password on many accounts.
    let limits = [
        Some((&state.sign_in_limits, format!("signin:{email}"))),
        ip.map(|ip| (&state.sign_in_client_limits, format!("signin-from:{ip}"))),
    ];
    // Each attempt is counted before its password is checked, so guesses
    // sent at once cannot all pass a limit that only counted afterwards.
    let limits: Vec<_> = limits.into_iter().flatten().collect();
    for (i, (limiter, key)) in limits.iter().enumerate() {
        if let Err(e) = limiter.begin(key).await {
            for (counted, key) in &limits[..i] {
                counted.forgive(key).await?;
            }
            return Err(e);
        }
    }
    let outcome = accounts.sign_in(&email, c.password).await;
    if !matches!(outcome, Err(Error::InvalidCredentials)) {
        // Only failures use up a limit.
        for (limiter, key) in &limits {
            limiter.forgive(key).await?;
        }
    }
    session_response(secure, StatusCode::OK, outcome?)
}

/// Ends the person's other browser sessions and closes their feeds; the
/// credential asking stays signed in.
pub async fn sign_out_others(State(state): State<AppState>, Authed(p): Authed) -> Reply {
    let ended = accounts(&state)?.sign_out_others(&p.user.id, p.credential.as_deref()).await?;
    ok(json!({ "ended": ended }))
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password and ends every other session. The current
/// password is a guess like a sign-in's, under the same per-account limit.
pub async fn change_password(State(state): State<AppState>, Authed(p): Authed, Json(c): Json<PasswordChange>) -> Reply {
    let accounts = accounts(&state)?;
    let new = Password::parse(&c.new_password)?;
    let key = format!("signin:{}", p.user.email);
    state.sign_in_limits.begin(&key).await?;
    let outcome = accounts.change_password(&p.user.id, c.current_password, new, p.credential.as_deref()).await;
    if !matches!(outcome, Err(Error::WrongCurrentPassword)) {
        state.sign_in_limits.forgive(&key).await?;
    }
    ok(json!({ "ended": outcome? }))
}

pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    if let Some(token) = session_cookie(&headers) {
        accounts(&state)?.sign_out(token).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(Error::internal)?);
    Ok(resp)
}

pub async fn me(State(state): State<AppState>, Authed(p): Authed) -> Reply {
    let used = state.service.store.usage(&p.user.id).await?;
    // Which API token is asking, so a client given one can revoke it later.
    let token_id = p.credential.as_deref().and_then(|c| c.strip_prefix("token:"));
    ok(json!({
        "user": p.user,
        "csrf_token": p.csrf_token,
        "token_id": token_id,
        "email_verified": state.service.address_verified(&p.user).await?,
        "download_notices": state.service.download_notices(&p.user).await?,
        "usage": { "used": used, "quota": state.service.config.quota_bytes },
        "max_file_size": state.service.config.max_file_size,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeChange {
    download_notices: Option<bool>,
}

/// Changes my settings: whether I get a letter when someone downloads one
/// of my files.
pub async fn update_me(State(state): State<AppState>, Authed(p): Authed, Json(c): Json<MeChange>) -> Reply {
    let Some(on) = c.download_notices else {
        return Err(Error::InvalidRequest("nothing to change: give download_notices".into()));
    };
    state.service.set_download_notices(&p.user, on).await?;
    ok(json!({ "download_notices": on }))
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
    /// Ends by itself after this many days; without, when revoked.
    expires_in_days: Option<i64>,
}

pub async fn tokens(State(state): State<AppState>, Authed(p): Authed) -> Reply {
    ok(json!({ "tokens": accounts(&state)?.tokens(&p.user.id).await? }))
}

pub async fn create_token(State(state): State<AppState>, Rechecked(p): Rechecked, Json(t): Json<NewToken>) -> Reply {
    let (token, secret) = accounts(&state)?.create_token(&p.user.id, &t.name, t.expires_in_days).await?;
    created(json!({ "token": token, "secret": secret }))
}

pub async fn revoke_token(State(state): State<AppState>, Rechecked(p): Rechecked, Path(id): Path<String>) -> Reply {
    accounts(&state)?.revoke_token(&p.user.id, &id).await?;
    no_content()
}

// ----- files -----

fn list_query(user: &User, q: &HashMap<String, String>) -> Result<FileQuery> {
    let bad = |what: &str| Error::InvalidRequest(what.to_owned());
    let scope = match q.get("scope").map(String::as_str) {
        None | Some("mine") => Scope::Mine,
        Some("shared") => Scope::SharedWithMe,
        Some(_) => return Err(bad("scope must be `mine` or `shared`")),
    };
    let sort = match q.get("sort").map(String::as_str) {
        None | Some("updated") => SortKey::Updated,
        Some("created") => SortKey::Created,
        Some("name") => SortKey::Name,
        Some("size") => SortKey::Size,
        Some(_) => return Err(bad("sort must be one of `name`, `size`, `created`, `updated`")),
    };
    let descending = match q.get("order").map(String::as_str) {
        None => sort != SortKey::Name,
        Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad("order must be `asc` or `desc`")),
    };
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => {
            l.parse::<u64>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| bad("limit must be 1 to 1000"))?
        }
    };
    let offset = match q.get("cursor") {
        None => 0,
        Some(c) => c.parse::<u64>().map_err(|_| bad("cursor must be a next_cursor from an earlier page"))?,
    };
    let within = match q.get("within").map(String::as_str) {
        None => Within::Anywhere,
        Some("top") => Within::Top,
        Some(id) => Within::Folder(FolderId::parse(id)?),
    };
    let uploading = match q.get("uploading").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("uploading must be `true` or `false`")),
    };
    Ok(FileQuery { user: user.id.clone(), scope, within, uploading, sort, descending, offset, limit })
}

pub async fn list_files(
    State(state): State<AppState>,
    Authed(p): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let query = list_query(&p.user, &q)?;
    let page = state.service.list(&p.user, query).await?;
    let next_cursor = page.next_offset.map(|o| o.to_string());
    // Into a buffer sized for the page at once (a record is about 320
    // bytes): grown as it went, the copies showed in profiles.
    let mut body = Vec::with_capacity(64 + page.items.len() * 384);
    serde_json::to_writer(&mut body, &FilesPage { files: page.items, next_cursor }).map_err(Error::internal)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// A page of files, serialised straight from the records: built as a
/// `serde_json::Value` first, a page of 1,000 spent most of its time
/// allocating and freeing the tree it threw away.
#[derive(serde::Serialize)]
struct FilesPage {
    files: Vec<FileRecord>,
    next_cursor: Option<String>,
}

pub async fn file_details(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    ok(serde_json::to_value(state.service.details(&p.user, &FileId::parse(&id)?).await?).map_err(Error::internal)?)
}

#[derive(Deserialize)]
pub struct FilePatch {
    #[serde(default, deserialize_with = "super::nullable")]
    name: Option<Option<String>>,
    /// A folder id, or `null` for the top; absent: where it is.
    #[serde(default, deserialize_with = "super::nullable")]
    folder_id: Option<Option<String>>,
}

pub async fn rename_file(
    State(state): State<AppState>,
    Authed(p): Authed,
    Path(id): Path<String>,
    Json(r): Json<FilePatch>,
) -> Reply {
    let id = FileId::parse(&id)?;
    if r.name.is_none() && r.folder_id.is_none() {
        return Err(Error::InvalidRequest("give the file a new `name`, a `folder_id`, or both".into()));
    }
    let change = FileChange { name: super::new_name(r.name)?, folder: super::folder_ids(r.folder_id)? };
    let file = state.service.update_file(&p.user, &id, change).await?;
    ok(json!({ "file": file }))
}

pub async fn delete_file(State(state): State<AppState>, Rechecked(p): Rechecked, Path(id): Path<String>) -> Reply {
    state.service.delete(&p.user, &FileId::parse(&id)?).await?;
    no_content()
}

#[derive(Deserialize, Default)]
pub struct DownloadOptions {
    #[serde(default)]
    inline: bool,
}

pub async fn download(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>, body: Bytes) -> Reply {
    let opts: DownloadOptions = optional_body(&body)?;
    let url = state.service.download(&p.user, &FileId::parse(&id)?, opts.inline).await?;
    ok(serde_json::to_value(url).map_err(Error::internal)?)
}

fn limit_param(q: &HashMap<String, String>) -> Result<u64> {
    match q.get("limit") {
        None => Ok(100),
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| Error::InvalidRequest("limit must be 1 to 1000".into())),
    }
}

pub async fn file_activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let items = state.service.activity(&p.user, Some(&FileId::parse(&id)?), limit_param(&q)?).await?;
    ok(json!({ "activity": items }))
}

pub async fn activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let items = state.service.activity(&p.user, None, limit_param(&q)?).await?;
    ok(json!({ "activity": items }))
}

// ----- sharing -----

#[derive(Deserialize)]
pub struct ShareWith {
    pub(super) email: String,
}

pub async fn share(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path(id): Path<String>,
    Json(s): Json<ShareWith>,
) -> Reply {
    let share = state.service.share(&p.user, &FileId::parse(&id)?, Email::parse(&s.email)?).await?;
    created(json!({ "share": share }))
}

pub async fn unshare(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path((id, email)): Path<(String, String)>,
) -> Reply {
    let email = Email::parse(&email).map_err(|_| Error::not_found("share"))?;
    state.service.unshare(&p.user, &FileId::parse(&id)?, email).await?;
    no_content()
}

// ----- links -----

#[derive(Deserialize, Default)]
pub struct LinkOptions {
    #[serde(default)]
    expires_in_seconds: Option<u64>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    max_downloads: Option<u64>,
}

pub async fn links(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    ok(json!({ "links": state.service.links(&p.user, &FileId::parse(&id)?).await? }))
}

pub async fn create_link(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let new = new_link(&body)?;
    let (link, token) = state.service.create_link(&p.user, &FileId::parse(&id)?, new).await?;
    link_created(link, token)
}

/// A new link's options from a request body, for a file's or a folder's.
pub(super) fn new_link(body: &Bytes) -> Result<NewLink> {
    let o: LinkOptions = optional_body(body)?;
    let expires_in = o
        .expires_in_seconds
        .map(|s| {
            i64::try_from(s)
                .map(SignedDuration::from_secs)
                .map_err(|_| Error::InvalidRequest("expires_in_seconds is too large".into()))
        })
        .transpose()?;
    let password = o.password.filter(|p| !p.is_empty()).map(|p| Password::parse(&p)).transpose()?;
    Ok(NewLink { expires_in, password, max_downloads: o.max_downloads })
}

/// The answer to a new link: the only time its token is shown.
pub(super) fn link_created(link: LinkView, token: String) -> Reply {
    created(json!({ "link": link, "url": format!("/s/{token}"), "token": token }))
}

pub async fn revoke_link(State(state): State<AppState>, Rechecked(p): Rechecked, Path(id): Path<String>) -> Reply {
    let id = LinkId::parse(&id).map_err(|_| Error::not_found("link"))?;
    state.service.revoke_link(&p.user, &id).await?;
    no_content()
}

pub async fn link_info(State(state): State<AppState>, Path(token): Path<String>) -> Reply {
    ok(serde_json::to_value(state.service.link_info(&token).await?).map_err(Error::internal)?)
}

#[derive(Deserialize, Default)]
pub struct LinkDownloadOptions {
    #[serde(default)]
    inline: bool,
    #[serde(default)]
    password: Option<String>,
    /// A folder link's file.
    #[serde(default)]
    file_id: Option<String>,
}

pub async fn link_download(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Reply {
    let opts: LinkDownloadOptions = optional_body(&body)?;
    let file = opts.file_id.as_deref().map(FileId::parse).transpose()?;
    let url = state.service.link_download(&token, opts.password, file.as_ref(), opts.inline).await?;
    ok(serde_json::to_value(url).map_err(Error::internal)?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkFolderOptions {
    #[serde(default)]
    password: Option<String>,
    /// A folder inside the linked one; absent or `null`: the linked one.
    #[serde(default)]
    folder_id: Option<String>,
    /// `archive` only: the previous page's `next_cursor`.
    #[serde(default)]
    cursor: Option<String>,
    /// `archive` only: the first page's ticket.
    #[serde(default)]
    ticket: Option<String>,
}

impl LinkFolderOptions {
    fn folder(&self) -> Result<Option<FolderId>> {
        self.folder_id.as_deref().map(FolderId::parse).transpose()
    }
}

pub async fn link_list(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Reply {
    let o: LinkFolderOptions = optional_body(&body)?;
    if o.cursor.is_some() || o.ticket.is_some() {
        return Err(Error::InvalidRequest("cursor and ticket go with archive, not list".into()));
    }
    let folder = o.folder()?;
    let listing = state.service.link_list(&token, o.password, folder.as_ref()).await?;
    ok(serde_json::to_value(listing).map_err(Error::internal)?)
}

pub async fn link_archive(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Reply {
    let o: LinkFolderOptions = optional_body(&body)?;
    let folder = o.folder()?;
    // An empty cursor is none: the first page.
    let cursor = o.cursor.as_deref().filter(|c| !c.is_empty());
    let ticket = o.ticket.as_deref().filter(|t| !t.is_empty());
    let page = state.service.link_archive(&token, o.password, folder.as_ref(), cursor, ticket).await?;
    ok(serde_json::to_value(page).map_err(Error::internal)?)
}

// ----- uploads -----

#[derive(Deserialize)]
pub struct BeginUpload {
    name: String,
    size: u64,
    #[serde(default)]
    content_type: Option<String>,
    crc32c: String,
    /// The folder it goes in; absent or `null`: the top.
    #[serde(default)]
    folder_id: Option<String>,
    /// What completing does if the name is taken by then.
    #[serde(default)]
    on_conflict: Option<OnConflict>,
}

pub async fn begin_upload(State(state): State<AppState>, Authed(p): Authed, Json(b): Json<BeginUpload>) -> Reply {
    let new = NewUpload {
        name: FileName::parse(&b.name)?,
        folder: b.folder_id.as_deref().map(FolderId::parse).transpose()?,
        on_conflict: b.on_conflict.unwrap_or_default(),
        size: b.size,
        content_type: ContentType::parse(b.content_type.as_deref())?,
        crc32c: Crc32c::parse(&b.crc32c)?,
    };
    let (file, upload) = state.service.begin_upload(&p.user, new).await?;
    created(json!({ "file": file, "upload": upload }))
}

pub async fn complete_upload(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    let file = state.service.complete_upload(&p.user, &FileId::parse(&id)?).await?;
    ok(json!({ "file": file }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    received: u64,
}

pub async fn report_progress(
    State(state): State<AppState>,
    Authed(p): Authed,
    Path(id): Path<String>,
    Json(b): Json<Progress>,
) -> Reply {
    let file = state.service.report_progress(&p.user, &FileId::parse(&id)?, b.received).await?;
    ok(json!({ "file": file }))
}

pub async fn abort_upload(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    state.service.abort_upload(&p.user, &FileId::parse(&id)?).await?;
    no_content()
}

/// `GET /api/cron/sweep`: the reconcile sweep (`Service::sweep`), for
/// Vercel Cron Jobs, which call it with `Authorization: Bearer
/// $CRON_SECRET`, and for `livedrop sweep`. Without a configured secret the
/// route is not there: nobody can make the server sweep.
pub async fn cron_sweep(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    use subtle::ConstantTimeEq;
    let Some(secret) = state.service.config.cron_secret.as_deref() else {
        return Err(Error::not_found("the sweep route (it needs CRON_SECRET set on the server)"));
    };
    let sent = super::bearer(&headers).unwrap_or_default();
    if !bool::from(sent.as_bytes().ct_eq(secret.as_bytes())) {
        return Err(Error::Unauthenticated);
    }
    let report = state.service.sweep().await?;
    tracing::info!(
        pending_files = report.pending_files,
        orphan_objects = report.orphan_objects,
        sessions = report.sessions,
        "sweep run by the cron route"
    );
    // Letters whose retry fell due with no request to send them (the cloud,
    // where nothing runs between requests).
    if let Some(p) = state.service.postman() {
        let d = p.deliver_due().await?;
        tracing::info!(sent = d.sent, retried = d.retried, given_up = d.given_up, "outbox delivered by the cron route");
    }
    ok(serde_json::to_value(report).map_err(Error::internal)?)
}
