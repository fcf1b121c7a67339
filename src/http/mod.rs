//! The HTTP edge shared by every deployment: one axum `Router` for the API,
//! one error mapping, and the extractors that turn requests into the
//! service's types. `livedrop serve` adds the blob endpoint and the web app
//! around it (`server.rs`); Vercel functions serve it as it is.

mod api;
pub mod csp;
mod error;
mod folders;
mod ws;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::feed::Hub;
use crate::identity::{Credential, Identity, LocalAccounts, Principal};
use crate::ratelimit::RateLimiter;
use crate::service::Service;

/// The OpenAPI description of this router, kept in the repository.
pub const OPENAPI: &str = include_str!("openapi.json");

pub const SESSION_COOKIE: &str = "livedrop_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// JSON bodies are small; file bytes never come through the API.
pub const JSON_LIMIT: usize = 64 * 1024;

/// What the page learns at start (`GET /api/config`), so that one build of
/// the web app serves both deployments.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClientConfig {
    pub mode: &'static str,
    pub signup_open: bool,
    pub max_file_size: u64,
    pub resumable_threshold: u64,
    /// Whether this server sends e-mail (SMTP is configured).
    pub mail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firebase: Option<serde_json::Value>,
}

/// Everything a handler may need.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub identity: Arc<dyn Identity>,
    /// Self-hosted accounts; `None` where Firebase Auth owns accounts.
    pub accounts: Option<Arc<LocalAccounts>>,
    /// The WebSocket feed; `None` where browsers listen to Firestore.
    pub hub: Option<Arc<Hub>>,
    pub client_config: ClientConfig,
    /// Failed sign-ins per account address.
    pub sign_in_limits: Arc<RateLimiter>,
    /// Failed sign-ins per client, across addresses.
    pub sign_in_client_limits: Arc<RateLimiter>,
    /// Letters a person asks to be sent again (address confirmations).
    pub mail_limits: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(
        service: Arc<Service>,
        identity: Arc<dyn Identity>,
        accounts: Option<Arc<LocalAccounts>>,
        hub: Option<Arc<Hub>>,
        mode: &'static str,
    ) -> Self {
        let per_client = service.config.sign_in_failures_per_client;
        let client_config = ClientConfig {
            mode,
            signup_open: service.config.signup_open && accounts.is_some(),
            max_file_size: service.config.max_file_size,
            resumable_threshold: service.config.resumable_threshold,
            mail: service.postman().is_some(),
            firebase: None,
        };
        Self {
            service,
            identity,
            accounts,
            hub,
            client_config,
            sign_in_limits: Arc::new(RateLimiter::new(10, Duration::from_secs(300))),
            sign_in_client_limits: Arc::new(RateLimiter::new(per_client, Duration::from_secs(300))),
            mail_limits: Arc::new(RateLimiter::new(5, Duration::from_secs(3600))),
        }
    }
}

/// Every API route, in one list: the router is built from it, and the
/// contract test compares it with `openapi.json`.
pub fn api_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/health", get(api::health)),
        ("/api/openapi.json", get(api::openapi)),
        ("/api/config", get(api::config)),
        ("/api/auth/signup", post(api::sign_up)),
        ("/api/auth/signin", post(api::sign_in)),
        ("/api/auth/signout", post(api::sign_out)),
        ("/api/auth/signout-others", post(api::sign_out_others)),
        ("/api/auth/password", post(api::change_password)),
        ("/api/auth/verify", post(api::verify_address)),
        ("/api/auth/verify/resend", post(api::resend_verification)),
        ("/api/me", get(api::me).patch(api::update_me)),
        ("/api/tokens", get(api::tokens).post(api::create_token)),
        ("/api/tokens/{id}", delete(api::revoke_token)),
        ("/api/files", get(api::list_files)),
        ("/api/files/{id}", get(api::file_details).patch(api::rename_file).delete(api::delete_file)),
        ("/api/folders", get(folders::list).post(folders::create)),
        ("/api/folders/{id}", get(folders::get).patch(folders::update).delete(folders::delete)),
        ("/api/folders/{id}/archive", post(folders::archive)),
        ("/api/archive", post(folders::selection_archive)),
        ("/api/folders/{id}/links", get(folders::links).post(folders::create_link)),
        ("/api/folders/{id}/shares", post(folders::share)),
        ("/api/folders/{id}/shares/{email}", delete(folders::unshare)),
        ("/api/resolve", get(folders::resolve)),
        ("/api/files/{id}/download", post(api::download)),
        ("/api/files/{id}/activity", get(api::file_activity)),
        ("/api/files/{id}/shares", post(api::share)),
        ("/api/files/{id}/shares/{email}", delete(api::unshare)),
        ("/api/files/{id}/links", get(api::links).post(api::create_link)),
        ("/api/links/{id}", delete(api::revoke_link)),
        ("/api/uploads", post(api::begin_upload)),
        ("/api/uploads/{id}", delete(api::abort_upload)),
        ("/api/uploads/{id}/complete", post(api::complete_upload)),
        ("/api/uploads/{id}/progress", post(api::report_progress)),
        ("/api/activity", get(api::activity)),
        ("/api/s/{token}", get(api::link_info)),
        ("/api/s/{token}/download", post(api::link_download)),
        ("/api/s/{token}/list", post(api::link_list)),
        ("/api/s/{token}/archive", post(api::link_archive)),
        ("/api/feed", get(ws::feed)),
        ("/api/cron/sweep", get(api::cron_sweep)),
    ]
}

/// A JSON field that may be absent (`None`), `null` (`Some(None)`) or set.
fn nullable<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A nullable folder id from a body: `Some(None)` is the top.
fn folder_ids(id: Option<Option<String>>) -> Result<Option<Option<crate::domain::FolderId>>> {
    id.map(|o| o.as_deref().map(crate::domain::FolderId::parse).transpose()).transpose()
}

/// A new name from a PATCH body: absent keeps the name; `null` is not one.
fn new_name(name: Option<Option<String>>) -> Result<Option<crate::domain::FileName>> {
    match name {
        None => Ok(None),
        Some(None) => Err(Error::InvalidRequest("name cannot be null: leave it out to keep the name".into())),
        Some(Some(n)) => crate::domain::FileName::parse(&n).map(Some),
    }
}

/// The API router. Unknown `/api/` paths answer a JSON `not_found`, and a
/// method a path does not take a JSON `method_not_allowed` with `Allow`.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for (path, route) in api_routes() {
        r = r.route(path, route);
    }
    // Set on the routes registered so far: the catch-all takes any method.
    r.method_not_allowed_fallback(api::method_not_allowed)
        .route("/api/{*rest}", axum::routing::any(api::no_route))
        .layer(axum::extract::DefaultBodyLimit::max(JSON_LIMIT))
        .layer(axum::middleware::from_fn(json_bodies))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// JSON bodies are read as the contract (OpenAPI 3.1, so JSON Schema
/// 2020-12) reads them: an integer may be written `5`, `5.0` or `5e0`, and
/// an array is no object, though serde would fill a struct from one.
async fn json_bodies(req: Request, next: axum::middleware::Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, JSON_LIMIT).await else {
        return Error::PayloadTooLarge { limit: JSON_LIMIT as u64 }.into_response();
    };
    let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if !v.is_object() => {
            return Error::InvalidRequest("the JSON body must be an object".into()).into_response();
        }
        Ok(mut v) => match whole_numbers_as_integers(&mut v).then(|| serde_json::to_vec(&v)) {
            Some(Ok(rewritten)) => {
                parts.headers.insert(header::CONTENT_LENGTH, rewritten.len().into());
                rewritten.into()
            }
            _ => bytes,
        },
        // Blank, or not JSON: the handler says what is wrong with it.
        Err(_) => bytes,
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Rewrites the whole numbers written as floats, within u64 or i64, as
/// integers; whether there were any.
fn whole_numbers_as_integers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) else { return false };
            *v = match f {
                // 2^64 and -2^63 as floats: the casts are exact below them.
                0.0..18_446_744_073_709_551_616.0 => Value::from(f as u64),
                -9_223_372_036_854_775_808.0..0.0 => Value::from(f as i64),
                _ => return false,
            };
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |any, v| whole_numbers_as_integers(v) | any),
        Value::Object(fields) => fields.values_mut().fold(false, |any, v| whole_numbers_as_integers(v) | any),
        _ => false,
    }
}

/// Every error the API answers is `{"error": {"code", "message"}}`, also
/// those axum's extractors answer in plain text before a handler runs: a
/// path or query that is not UTF-8, a body over the limit, a feed request
/// that is not a WebSocket upgrade. The status and other headers stay.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge { limit: JSON_LIMIT as u64 },
        s if s.is_server_error() => Error::internal(text),
        _ if text.is_empty() => Error::InvalidRequest(status.canonical_reason().unwrap_or("bad request").into()),
        _ => Error::InvalidRequest(text),
    };
    let (json, body) = error.into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = json.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

/// A JSON body, with every way it can be wrong mapped to a clear 4xx.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::BytesRejection(_)) => Err(Error::PayloadTooLarge { limit: JSON_LIMIT as u64 }),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(Error::InvalidRequest("send a JSON body with `Content-Type: application/json`".into()))
            }
            Err(e) => Err(Error::InvalidRequest(e.body_text())),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// The signed-in person. Cookie sessions must carry the CSRF token on every
/// request that changes something.
/// The client's address: the peer's or, when the peer is a trusted proxy,
/// the last address in `X-Forwarded-For` that is not one (each proxy
/// appends the address it saw). `None` where the server does not see its
/// peers (Vercel functions).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else { return Ok(Self(None)) };
        Ok(Self(Some(client_ip(peer.ip(), &parts.headers, &state.service.config.trusted_proxies))))
    }
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let trusted_ip = |ip: &IpAddr| trusted.contains(&ip.to_canonical());
    if !trusted_ip(&peer) {
        return peer.to_canonical();
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|ip| !trusted_ip(ip)).unwrap_or(peer).to_canonical()
}

/// Whether the client reached us over HTTPS: the request's own scheme, or,
/// when the peer is a trusted proxy (or, on Vercel, where there is no peer
/// to see, Vercel's own edge), what its `X-Forwarded-Proto` says. A client
/// talking to us directly cannot claim it.
pub fn reached_over_https(
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[IpAddr],
) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    let proxied = match peer {
        Some(ip) => trusted.contains(&ip.to_canonical()),
        None => true,
    };
    // Each proxy appends; the last value is what the nearest one saw.
    let proto = headers.get_all("x-forwarded-proto").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    proxied && proto.last().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// `Secure` goes on cookies: the request came over HTTPS, or the settings
/// force it.
pub struct SecureCookies(pub bool);

impl FromRequestParts<AppState> for SecureCookies {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Self::Rejection> {
        let config = &state.service.config;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(p)| p.ip());
        Ok(Self(config.secure_cookies || reached_over_https(&parts.uri, &parts.headers, peer, &config.trusted_proxies)))
    }
}

pub struct Authed(pub Principal);

impl FromRequestParts<AppState> for Authed {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let credential = if let Some(token) = bearer(&parts.headers) {
            Credential::Bearer(token)
        } else if let Some(token) = session_cookie(&parts.headers) {
            Credential::Session(token)
        } else {
            return Err(Error::Unauthenticated);
        };
        let principal = state.identity.authenticate(credential).await?.ok_or(Error::Unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let (false, Some(expected)) = (safe, &principal.csrf_token) {
            let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
            if !bool::from(sent.ct_eq(expected.as_bytes())) {
                return Err(Error::CsrfFailed);
            }
        }
        Ok(Authed(principal))
    }
}

/// `Authed`, for the requests that matter (sharing, links, deleting): the
/// credential is asked about again where it could have been revoked
/// without showing it (`Identity::still_valid`).
pub struct Rechecked(pub Principal);

impl FromRequestParts<AppState> for Rechecked {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Authed(p) = Authed::from_request_parts(parts, state).await?;
        if !state.identity.still_valid(&p).await? {
            return Err(Error::Unauthenticated);
        }
        Ok(Rechecked(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "10.0.0.1, 203.0.113.5".parse().unwrap());
        h.append("x-forwarded-for", "garbage, 192.0.2.1".parse().unwrap());
        let proxies = [ip("192.0.2.1"), ip("127.0.0.1")];
        assert_eq!(
            client_ip(ip("198.51.100.2"), &h, &proxies),
            ip("198.51.100.2"),
            "not a proxy: the header is ignored"
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &proxies), ip("203.0.113.5"), "the last hop that is not a proxy");
        assert_eq!(client_ip(ip("127.0.0.1"), &HeaderMap::new(), &proxies), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &h, &proxies), ip("203.0.113.5"), "IPv4 in IPv6 is IPv4");
    }
}
