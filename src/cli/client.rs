//! The HTTP side of the client: the livedrop API (JSON, bearer token) and
//! the blob URLs it signs (no credentials: the signature is the permission).

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::error::{CliError, Exit, Result};
use super::firebase;

/// Characters kept as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `value` percent-encoded as one path segment (ids, e-mail addresses, tokens).
pub fn seg(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Turns what a person types (`127.0.0.1:8080`, `files.example.com/`) into
/// a server URL: plain HTTP for loopback, HTTPS otherwise.
pub fn normalize_server(s: &str) -> Result<Url> {
    let s = s.trim().trim_end_matches('/');
    let with_scheme = if s.contains("://") {
        s.to_owned()
    } else {
        let host = s.split(['/', ':']).next().unwrap_or("");
        let local = host == "localhost" || host.starts_with("127.") || s.starts_with("[::1]");
        format!("{}://{s}", if local { "http" } else { "https" })
    };
    let url = Url::parse(&with_scheme).map_err(|e| CliError::usage(format!("'{s}' is not a server URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CliError::usage(format!("'{s}' is not an http:// or https:// server URL")));
    }
    Ok(url)
}

/// The key a server's login is stored under.
pub fn server_key(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// How requests to the API prove who is asking.
#[derive(Clone)]
pub enum Auth {
    /// Nobody: public links, sign-in.
    Anonymous,
    /// A self-hosted API token (or `$LIVEDROP_TOKEN`).
    Bearer(String),
    /// A cloud login: Firebase ID tokens, refreshed as they expire.
    Firebase(Arc<firebase::Session>),
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: Url,
    auth: Auth,
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A transport error as a person should read it.
pub fn net_error(e: &reqwest::Error, base: &Url) -> CliError {
    let server = server_key(base);
    if e.is_connect() {
        CliError::new(Exit::Unreachable, format!("cannot reach the livedrop server at {server}: {}", root_cause(e)))
            .hint("check the address and that the server is running")
    } else if e.is_timeout() {
        CliError::new(Exit::Unreachable, format!("the livedrop server at {server} did not answer in time"))
    } else if e.is_decode() {
        CliError::failure(format!("the server at {server} sent an answer livedrop does not understand"))
    } else {
        CliError::new(Exit::Unreachable, format!("the connection to {server} failed: {}", root_cause(e)))
            .hint("run the same command again; transfers continue where they stopped")
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("livedrop-cli/", env!("CARGO_PKG_VERSION")))
        // Resumable sessions answer 308 without a Location: never follow.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()
        .expect("the HTTP client builds with static settings")
}

/// Reads an error answer: the API's JSON error, or the status and the
/// start of whatever else came back (a storage service's XML).
pub async fn error_from(resp: reqwest::Response) -> CliError {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        if let Some(err) = v.get("error") {
            let code = err.get("code").and_then(Value::as_str).unwrap_or("");
            let message = err.get("message").and_then(Value::as_str).unwrap_or("");
            return CliError::api(status, code, message);
        }
    }
    let snippet: String = text.chars().take(200).collect();
    CliError::api(status, "", &format!("the server answered {status}: {}", snippet.trim()))
}

impl Api {
    pub fn new(base: Url, auth: Auth) -> Self {
        Self { http: http_client(), base, auth }
    }

    pub fn server(&self) -> String {
        server_key(&self.base)
    }

    /// The client for signed blob URLs, which must not carry the bearer token.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A path (`/api/...`) or a URL the API returned, made absolute.
    pub fn url(&self, path_or_url: &str) -> Result<Url> {
        self.base.join(path_or_url).map_err(|e| CliError::failure(format!("bad URL '{path_or_url}': {e}")))
    }

    /// The bearer token for the next request, if any; with `fresh`, a
    /// cloud login's ID token is renewed even if it has not expired.
    pub async fn bearer(&self, fresh: bool) -> Result<Option<String>> {
        match &self.auth {
            Auth::Anonymous => Ok(None),
            Auth::Bearer(t) => Ok(Some(t.clone())),
            Auth::Firebase(session) => session.id_token(fresh).await.map(Some).map_err(|e| self.login_error(e)),
        }
    }

    /// The server refused the credential: the login is over.
    pub fn refused_login(&self) -> CliError {
        self.login_over("it was revoked or has expired")
    }

    /// The login is over, for `why`; says how to make a new one.
    fn login_over(&self, why: &str) -> CliError {
        CliError::new(Exit::Auth, format!("your login for {} is no longer valid ({why})", self.server()))
            .hint(format!("run `livedrop login --server {}`", self.server()))
    }

    /// A refresh Firebase refused means the stored login is over.
    fn login_error(&self, e: CliError) -> CliError {
        if e.exit == Exit::Auth { self.login_over(&e.message) } else { e }
    }

    /// One API call; `Ok(None)` for `204 No Content`.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Option<Value>> {
        let send = |token: Option<String>| {
            let mut req = self.http.request(method.clone(), self.url(path)?).timeout(Duration::from_secs(120));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            Ok::<_, CliError>(req.send())
        };
        let mut resp = send(self.bearer(false).await?)?.await.map_err(|e| net_error(&e, &self.base))?;
        // An ID token can be refused before its time (revoked sessions, a
        // clock off by minutes): one fresh token, one more try.
        if resp.status() == StatusCode::UNAUTHORIZED && matches!(self.auth, Auth::Firebase(_)) {
            resp = send(self.bearer(true).await?)?.await.map_err(|e| net_error(&e, &self.base))?;
        }
        self.read(resp).await
    }

    async fn read(&self, resp: reqwest::Response) -> Result<Option<Value>> {
        let status = resp.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if !status.is_success() {
            let mut e = error_from(resp).await;
            if e.code.as_deref() == Some("unauthenticated") {
                e = match &self.auth {
                    Auth::Anonymous => CliError::new(Exit::Auth, format!("not signed in to {}", self.server()))
                        .hint(format!("run `livedrop login --server {}`", self.server())),
                    Auth::Bearer(_) | Auth::Firebase(_) => self.refused_login(),
                };
            }
            return Err(e);
        }
        resp.json::<Value>().await.map(Some).map_err(|e| net_error(&e, &self.base))
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.call(Method::GET, path, None).await?.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        Ok(self.call(Method::POST, path, Some(body)).await?.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        Ok(self.call(Method::PATCH, path, Some(body)).await?.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, None).await.map(|_| ())
    }
}

/// A string field of a JSON answer, or an error naming what is missing.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| {
        CliError::failure(format!("the server's answer has no `{key}`; is this a livedrop server of another version?"))
    })
}

pub fn u64_field(v: &Value, key: &str) -> Result<u64> {
    v.get(key).and_then(Value::as_u64).ok_or_else(|| {
        CliError::failure(format!("the server's answer has no `{key}`; is this a livedrop server of another version?"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_written_loosely_and_stored_exactly() {
        assert_eq!(server_key(&normalize_server("127.0.0.1:8080").unwrap()), "http://127.0.0.1:8080");
        assert_eq!(server_key(&normalize_server("localhost:3000/").unwrap()), "http://localhost:3000");
        assert_eq!(server_key(&normalize_server("files.example.com").unwrap()), "https://files.example.com");
        assert_eq!(server_key(&normalize_server("http://x.test:9/").unwrap()), "http://x.test:9");
        assert!(normalize_server("ftp://x").is_err());
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(seg("ann+1@example.com"), "ann%2B1%40example.com");
        assert_eq!(seg("abc_-9"), "abc_-9");
    }
}
