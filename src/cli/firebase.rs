//! Signing in to a cloud deployment: Firebase Auth's REST API, the same
//! calls the web app's Firebase SDK makes.
//!
//! ```text
//! POST identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=K  e-mail + password -> tokens
//! POST identitytoolkit.googleapis.com/v1/accounts:signUp?key=K              new account -> tokens
//! POST identitytoolkit.googleapis.com/v1/accounts:sendOobCode?key=K         the verification mail
//! POST securetoken.googleapis.com/v1/token?key=K                            refresh token -> new ID token
//! ```
//!
//! The API key and, in development, the Auth emulator's address come from
//! the deployment itself (`GET /api/config` → `firebase`), so the client
//! needs no configuration of its own and talks to the emulator exactly when
//! the server does. The emulator serves the same paths under
//! `http://HOST:PORT/`.
//!
//! An ID token lives an hour; the refresh token until the password changes
//! or the account is disabled. `Session` hands out an ID token with a few
//! minutes to spare, refreshing it when needed (and once more when the API
//! refuses one anyway), and reports each refresh so the stored login keeps
//! the newest pair.

use std::sync::Arc;

use base64::Engine;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{http_client, net_error};
use super::error::{CliError, Exit, Result};

/// An ID token this close to its expiry is refreshed before use.
const REFRESH_MARGIN_SECS: i64 = 300;

/// Where a deployment's Firebase Auth is, and the key that names its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub api_key: String,
    /// `http://127.0.0.1:9099` when the deployment uses the Auth emulator.
    pub emulator: Option<String>,
}

impl Project {
    /// Reads the `firebase` part of `GET /api/config`.
    pub fn from_config(config: &Value) -> Result<Self> {
        let fb = &config["firebase"];
        let api_key = fb["apiKey"].as_str().filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            CliError::failure("this cloud deployment publishes no Firebase API key (apiKey in its web config)")
                .hint("its operator should set LIVEDROP_FIREBASE_WEB_CONFIG")
        })?;
        let emulator = fb["emulators"]["auth"].as_str().map(|e| e.trim_end_matches('/').to_owned());
        Ok(Self { api_key: api_key.to_owned(), emulator })
    }

    fn endpoint(&self, service: &str, method: &str) -> Result<Url> {
        let base = match &self.emulator {
            Some(e) => format!("{e}/{service}"),
            None => format!("https://{service}"),
        };
        let mut url = Url::parse(&format!("{base}/v1/{method}"))
            .map_err(|e| CliError::failure(format!("bad Firebase Auth address '{base}': {e}")))?;
        url.query_pairs_mut().append_pair("key", &self.api_key);
        Ok(url)
    }

    /// Where the requests go, for messages about the connection.
    fn host(&self) -> Url {
        let s = self.emulator.clone().unwrap_or_else(|| "https://identitytoolkit.googleapis.com".into());
        Url::parse(&s).unwrap_or_else(|_| Url::parse("https://identitytoolkit.googleapis.com").expect("static URL"))
    }
}

/// The credential Firebase hands out: an ID token for the API, and the
/// refresh token that gets the next one.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub user_id: String,
    pub id_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The `error.message` of a Firebase Auth error answer: a code such as
/// `EMAIL_EXISTS`, sometimes followed by ` : ` and an explanation.
fn firebase_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// A Firebase Auth refusal, worded for a person and given a stable exit code.
fn refusal(message: &str) -> CliError {
    let (code, detail) = match message.split_once(" : ") {
        Some((c, d)) => (c.trim(), Some(d.trim())),
        None => (message.trim(), None),
    };
    let e = match code {
        "EMAIL_NOT_FOUND" | "INVALID_PASSWORD" | "INVALID_LOGIN_CREDENTIALS" => {
            CliError::new(Exit::Auth, "wrong e-mail address or password")
        }
        "USER_DISABLED" => CliError::new(Exit::Auth, "this account is disabled"),
        "EMAIL_EXISTS" => CliError::new(Exit::Refused, "there is already an account with this e-mail address")
            .hint("run `livedrop login` instead"),
        "WEAK_PASSWORD" => {
            CliError::usage(format!("the password is too weak{}", detail.map(|d| format!(": {d}")).unwrap_or_default()))
        }
        "INVALID_EMAIL" | "MISSING_EMAIL" => CliError::usage("that is not a valid e-mail address"),
        "MISSING_PASSWORD" => CliError::usage("the password is empty"),
        "TOO_MANY_ATTEMPTS_TRY_LATER" => {
            CliError::new(Exit::Refused, "too many sign-in attempts for this account; try again later")
        }
        "OPERATION_NOT_ALLOWED" | "PASSWORD_LOGIN_DISABLED" => {
            CliError::new(Exit::Refused, "this deployment does not allow signing in with an e-mail and password")
        }
        "TOKEN_EXPIRED" | "INVALID_REFRESH_TOKEN" | "USER_NOT_FOUND" | "INVALID_ID_TOKEN" => CliError::new(
            Exit::Auth,
            "the login has expired or was ended (the password changed, or the account was removed)",
        ),
        c if c.starts_with("API key not valid") || c.starts_with("API_KEY_INVALID") => {
            CliError::failure("the deployment's Firebase API key is not valid")
                .hint("its operator should check LIVEDROP_FIREBASE_WEB_CONFIG")
        }
        _ => CliError::failure(format!("Firebase Auth refused: {message}")),
    };
    CliError { code: Some(code.to_owned()), ..e }
}

/// Sends one request to Firebase Auth and reads its JSON answer or refusal.
async fn post(project: &Project, req: reqwest::RequestBuilder) -> Result<Value> {
    let resp = req.send().await.map_err(|e| net_error(&e, &project.host()))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| net_error(&e, &project.host()))?;
    if !status.is_success() {
        return Err(refusal(&firebase_message(&body)));
    }
    serde_json::from_str(&body)
        .map_err(|_| CliError::failure("Firebase Auth sent an answer livedrop does not understand"))
}

async fn call(http: &reqwest::Client, project: &Project, method: &str, body: &Value) -> Result<Value> {
    let url = project.endpoint("identitytoolkit.googleapis.com", method)?;
    post(project, http.post(url).json(body)).await
}

/// Tokens as Firebase Auth hands them out: camelCase from sign-in and
/// sign-up, snake_case from the token endpoint.
#[derive(Deserialize)]
struct Answer {
    #[serde(alias = "localId")]
    user_id: String,
    #[serde(alias = "idToken")]
    id_token: String,
    #[serde(alias = "refreshToken")]
    refresh_token: String,
    #[serde(alias = "expiresIn")]
    expires_in: String,
}

fn tokens(v: Value) -> Result<Tokens> {
    let a: Answer = serde_json::from_value(v)
        .map_err(|_| CliError::failure("Firebase Auth answered without the tokens livedrop expects"))?;
    Ok(Tokens {
        user_id: a.user_id,
        id_token: a.id_token,
        refresh_token: a.refresh_token,
        expires_at: now() + a.expires_in.parse::<i64>().unwrap_or(3600),
    })
}

/// Signs in with an e-mail address and password, or creates that account
/// first with `new_account`.
pub async fn password(project: &Project, email: &str, password: &str, new_account: bool) -> Result<Tokens> {
    let http = http_client();
    let method = if new_account { "accounts:signUp" } else { "accounts:signInWithPassword" };
    let body = json!({ "email": email, "password": password, "returnSecureToken": true });
    tokens(call(&http, project, method, &body).await?)
}

/// Asks Firebase to mail the account's address a verification link.
pub async fn send_verification(project: &Project, id_token: &str) -> Result<()> {
    let body = json!({ "requestType": "VERIFY_EMAIL", "idToken": id_token });
    call(&http_client(), project, "accounts:sendOobCode", &body).await.map(|_| ())
}

/// Trades a refresh token for a new ID token (and maybe a new refresh token).
pub async fn refresh(http: &reqwest::Client, project: &Project, refresh_token: &str) -> Result<Tokens> {
    let url = project.endpoint("securetoken.googleapis.com", "token")?;
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        percent_encoding::utf8_percent_encode(refresh_token, percent_encoding::NON_ALPHANUMERIC)
    );
    let req = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(form);
    tokens(post(project, req).await?)
}

/// Whether an ID token says its address is verified. Read without checking
/// the signature: only to word a refusal, never to decide anything.
pub fn email_verified(id_token: &str) -> bool {
    let claims = id_token
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok());
    claims.is_some_and(|c| c["email_verified"] == Value::Bool(true))
}

/// Called with the new tokens after each refresh, to store them.
pub type OnRefresh = Box<dyn Fn(&Tokens) + Send + Sync>;

/// A signed-in cloud login for the length of one command.
pub struct Session {
    http: reqwest::Client,
    project: Project,
    tokens: tokio::sync::Mutex<Tokens>,
    on_refresh: OnRefresh,
}

impl Session {
    pub fn new(project: Project, tokens: Tokens, on_refresh: OnRefresh) -> Arc<Self> {
        Arc::new(Self { http: http_client(), project, tokens: tokio::sync::Mutex::new(tokens), on_refresh })
    }

    /// An ID token good for a few more minutes; with `force`, a new one
    /// whatever the clock says (the API refused the last one).
    pub async fn id_token(&self, force: bool) -> Result<String> {
        let mut t = self.tokens.lock().await;
        if force || t.expires_at - now() < REFRESH_MARGIN_SECS {
            let fresh = refresh(&self.http, &self.project, &t.refresh_token).await?;
            (self.on_refresh)(&fresh);
            *t = fresh;
        }
        Ok(t.id_token.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_and_its_endpoints_come_from_the_deployment() {
        let cfg = json!({ "mode": "cloud", "firebase": { "apiKey": "AIza-x", "emulators": { "auth": "http://127.0.0.1:9099/" } } });
        let p = Project::from_config(&cfg).unwrap();
        assert_eq!(p.emulator.as_deref(), Some("http://127.0.0.1:9099"));
        assert_eq!(
            p.endpoint("identitytoolkit.googleapis.com", "accounts:signUp").unwrap().as_str(),
            "http://127.0.0.1:9099/identitytoolkit.googleapis.com/v1/accounts:signUp?key=AIza-x"
        );
        let prod = Project::from_config(&json!({ "firebase": { "apiKey": "k&1", "emulators": { "auth": null } } }));
        assert_eq!(
            prod.unwrap().endpoint("securetoken.googleapis.com", "token").unwrap().as_str(),
            "https://securetoken.googleapis.com/v1/token?key=k%261"
        );
        let none = Project::from_config(&json!({ "mode": "cloud", "firebase": { "apiKey": "" } }));
        assert_eq!(none.unwrap_err().exit, Exit::Failure);
    }

    #[test]
    fn refusals_get_stable_exit_codes_and_plain_words() {
        let r = |m: &str| refusal(m);
        assert_eq!(r("INVALID_LOGIN_CREDENTIALS").exit, Exit::Auth);
        assert_eq!(r("INVALID_PASSWORD").message, "wrong e-mail address or password");
        assert_eq!(r("EMAIL_EXISTS").exit, Exit::Refused);
        let weak = r("WEAK_PASSWORD : Password should be at least 6 characters");
        assert_eq!((weak.exit, weak.code.as_deref()), (Exit::Usage, Some("WEAK_PASSWORD")));
        assert!(weak.message.ends_with("Password should be at least 6 characters"), "{}", weak.message);
        assert_eq!(r("TOO_MANY_ATTEMPTS_TRY_LATER : Access disabled").exit, Exit::Refused);
        assert_eq!(r("INVALID_REFRESH_TOKEN").exit, Exit::Auth);
        assert_eq!(r("API key not valid. Please pass a valid API key.").exit, Exit::Failure);
        assert_eq!(r("SOMETHING_NEW").message, "Firebase Auth refused: SOMETHING_NEW");
    }

    #[test]
    fn verification_is_read_from_the_token_claims() {
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token =
            |verified: bool| format!("{}.{}.", b64(json!({"alg":"none"})), b64(json!({"email_verified": verified})));
        assert!(email_verified(&token(true)));
        assert!(!email_verified(&token(false)));
        assert!(!email_verified("not a token"));
    }
}
