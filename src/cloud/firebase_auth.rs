//! Cloud identity: Firebase Auth ID tokens as bearer credentials.
//!
//! A token is accepted only if, as Firebase documents for third-party
//! verification:
//!
//! - its header says `alg: RS256` and names (`kid`) one of Google's current
//!   signing certificates, and the signature verifies against it. The
//!   certificates are fetched from `certs_url` and kept for as long as the
//!   answer's `Cache-Control: max-age` says (less its `Age`);
//! - `iss` is `https://securetoken.google.com/<project>` and `aud` is the
//!   project id;
//! - `exp` is in the future, `iat` and `auth_time` are not (up to
//!   `CLOCK_SKEW` ahead, for clocks that differ a little);
//! - `sub` (the uid) is non-empty and at most 128 characters;
//! - it carries an `email`, and (unless configured otherwise) a verified one:
//!   sharing finds people by address, so an unverified address would let
//!   anyone sign up as someone else and receive what is shared with them.
//!
//! Unsigned tokens (`alg: none`), which the Auth emulator issues, go through
//! the same claim checks, and only when `FIREBASE_AUTH_EMULATOR_HOST` was
//! set when the verifier was made; otherwise they are refused.
//!
//! A signed-in person's profile (uid and address) is kept in the metadata
//! store, so that others can share with them by e-mail; the first time this
//! process sees someone, `FirstSignIn` (the service's `welcome`) turns the
//! invitations waiting for their address into shares.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::cloud::clock::{self, Clock};
use crate::domain::{Email, User, UserId};
use crate::error::{Error, Result};
use crate::identity::{Credential, Identity, Principal};
use crate::service::Service;
use crate::store::MetadataStore;

/// Where Google publishes the certificates that sign Firebase ID tokens.
pub const GOOGLE_CERTS_URL: &str =
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com";
/// How far ahead of our clock `iat` and `auth_time` may be.
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_secs(60);
/// The prefix Firebase reserves for projects that exist only in the
/// emulators.
pub const DEMO_PREFIX: &str = "demo-";

/// The longest uid Firebase issues.
const MAX_UID_CHARS: usize = 128;

/// How to verify tokens.
#[derive(Debug, Clone)]
pub struct FirebaseAuthConfig {
    /// The Firebase project id: the expected `aud`, and the end of `iss`.
    pub project_id: String,
    /// Google's certificate list, or a test's own.
    pub certs_url: String,
    /// Accept unsigned emulator tokens. Only `from_env` with
    /// `FIREBASE_AUTH_EMULATOR_HOST` set should turn this on.
    pub emulator: bool,
    /// Accept addresses the provider has not verified. Off in production
    /// (see the module docs); on with the emulator, whose e-mail/password
    /// accounts are unverified and whose addresses nobody owns.
    pub accept_unverified_email: bool,
}

impl FirebaseAuthConfig {
    /// For `project_id`, with Google's certificates; emulator mode exactly
    /// when `FIREBASE_AUTH_EMULATOR_HOST` is set (and not empty). With the
    /// emulator, unverified addresses pass unless
    /// `LIVEDROP_REQUIRE_VERIFIED_EMAIL=1` asks for production's rule (to
    /// try the verification flow locally).
    ///
    /// Unsigned tokens let anyone be anyone, so emulator mode also needs a
    /// project that can only exist in the emulators: Firebase reserves the
    /// `demo-` prefix for those. With the variable set for any other project
    /// (one stray variable in a production environment), this refuses.
    pub fn from_env(project_id: &str) -> Result<Self> {
        let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty() && v.trim() != "0");
        let emulator = set("FIREBASE_AUTH_EMULATOR_HOST");
        let config = Self {
            project_id: project_id.to_owned(),
            certs_url: GOOGLE_CERTS_URL.to_owned(),
            emulator,
            accept_unverified_email: emulator && !set("LIVEDROP_REQUIRE_VERIFIED_EMAIL"),
        };
        config.check()?;
        Ok(config)
    }

    /// Emulator mode only for a `demo-` project.
    pub fn check(&self) -> Result<()> {
        if self.emulator && !self.project_id.starts_with(DEMO_PREFIX) {
            return Err(Error::internal(format!(
                "FIREBASE_AUTH_EMULATOR_HOST is set, so unsigned emulator tokens would be accepted, but the \
                 project `{}` is not an emulator-only `{DEMO_PREFIX}` project: refusing to start. Unset \
                 FIREBASE_AUTH_EMULATOR_HOST in production, or use a `{DEMO_PREFIX}…` project id with the emulators.",
                self.project_id
            )));
        }
        Ok(())
    }

    fn issuer(&self) -> String {
        format!("https://securetoken.google.com/{}", self.project_id)
    }
}

/// Told when this process first sees a person, after their profile is
/// stored. Idempotent work only: every new process (a cold Vercel function)
/// sees everyone anew.
#[async_trait]
pub trait FirstSignIn: Send + Sync + 'static {
    async fn first_sign_in(&self, user: &User) -> Result<()>;
}

/// The service claims the invitations waiting for the person's address.
#[async_trait]
impl FirstSignIn for Service {
    async fn first_sign_in(&self, user: &User) -> Result<()> {
        self.welcome(user).await
    }
}

/// Google's certificates by key id, and until when they may be used.
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Timestamp,
}

/// Verifies Firebase ID tokens; the cloud `Identity`.
pub struct FirebaseAuth {
    config: FirebaseAuthConfig,
    store: Arc<dyn MetadataStore>,
    first_sign_in: Option<Arc<dyn FirstSignIn>>,
    http: reqwest::Client,
    clock: Clock,
    /// Held across a refetch, so that concurrent requests wait for one
    /// fetch instead of each asking Google.
    keys: tokio::sync::Mutex<Option<Arc<KeySet>>>,
    /// Profiles this process has stored and welcomed, so that a request
    /// costs no store round trip once its person is known.
    known: std::sync::Mutex<HashMap<UserId, Email>>,
    /// For `still_valid`; `None` checks nothing more than the token.
    accounts: Option<AccountLookup>,
}

/// The claims we read. All optional, so that a missing one is a refusal
/// with a reason rather than a parse error.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<serde_json::Value>,
    sub: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    auth_time: Option<i64>,
    email: Option<String>,
    email_verified: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct JoseHeader {
    alg: Option<String>,
    kid: Option<String>,
}

/// Why a token was refused: logged, never shown (a client learns only that
/// it must sign in again).
type Refusal = &'static str;

impl FirebaseAuth {
    pub fn new(config: FirebaseAuthConfig, store: Arc<dyn MetadataStore>) -> Result<Self> {
        Self::with_clock(config, store, clock::system())
    }

    pub fn with_clock(config: FirebaseAuthConfig, store: Arc<dyn MetadataStore>, clock: Clock) -> Result<Self> {
        config.check()?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            config,
            store,
            first_sign_in: None,
            http,
            clock,
            keys: tokio::sync::Mutex::new(None),
            known: std::sync::Mutex::new(HashMap::new()),
            accounts: None,
        })
    }

    /// Runs `hook` when this process first sees a person (usually the
    /// `Service`, which then claims their invitations).
    /// Checks accounts through `lookup` in `still_valid`.
    pub fn with_account_lookup(mut self, lookup: AccountLookup) -> Self {
        self.accounts = Some(lookup);
        self
    }

    pub fn on_first_sign_in(mut self, hook: Arc<dyn FirstSignIn>) -> Self {
        self.first_sign_in = Some(hook);
        self
    }

    pub fn config(&self) -> &FirebaseAuthConfig {
        &self.config
    }

    /// The person a token proves, `Ok(Err(why))` if it proves nothing, and
    /// `Err` only when verification itself could not run (certificates
    /// unreachable).
    pub async fn verify(&self, token: &str) -> Result<Result<User, Refusal>> {
        Ok(self.verify_signed_in(token).await?.map(|(user, _)| user))
    }

    /// `verify`, with when the person signed in (`auth_time`, seconds).
    async fn verify_signed_in(&self, token: &str) -> Result<Result<(User, i64), Refusal>> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Err("not a JWT"));
        };
        let Some(header) = decode_json::<JoseHeader>(header) else {
            return Ok(Err("unreadable header"));
        };
        let claims = match header.alg.as_deref() {
            Some("RS256") => {
                let Some(kid) = header.kid.as_deref().filter(|k| !k.is_empty()) else {
                    return Ok(Err("no kid"));
                };
                let keys = self.keys().await?;
                let Some(key) = keys.keys.get(kid) else {
                    return Ok(Err("kid is not one of Google's current keys"));
                };
                // The library checks the signature; the claims are checked
                // below, against our clock, with Firebase's rules.
                let mut validation = Validation::new(Algorithm::RS256);
                validation.validate_exp = false;
                validation.validate_nbf = false;
                validation.validate_aud = false;
                validation.required_spec_claims.clear();
                match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                    Ok(data) => data.claims,
                    Err(_) => return Ok(Err("bad signature or claims")),
                }
            }
            Some("none") if self.config.emulator => {
                if !signature.is_empty() {
                    return Ok(Err("an unsigned token with a signature"));
                }
                match decode_json::<Claims>(payload) {
                    Some(c) => c,
                    None => return Ok(Err("unreadable claims")),
                }
            }
            Some("none") => return Ok(Err("unsigned token, and FIREBASE_AUTH_EMULATOR_HOST is not set")),
            _ => return Ok(Err("alg is not RS256")),
        };
        Ok(self.check_claims(claims))
    }

    fn check_claims(&self, c: Claims) -> Result<(User, i64), Refusal> {
        let now = (self.clock)().as_second();
        let skew = CLOCK_SKEW.as_secs();
        if c.iss.as_deref() != Some(self.config.issuer().as_str()) {
            return Err("wrong iss");
        }
        if c.aud.as_ref().and_then(|a| a.as_str()) != Some(self.config.project_id.as_str()) {
            return Err("wrong aud");
        }
        match c.exp {
            Some(exp) if exp > now => {}
            Some(_) => return Err("expired"),
            None => return Err("no exp"),
        }
        match c.iat {
            Some(iat) if iat <= now + skew => {}
            Some(_) => return Err("iat is in the future"),
            None => return Err("no iat"),
        }
        let auth_time = match c.auth_time {
            Some(t) if t <= now + skew => t,
            Some(_) => return Err("auth_time is in the future"),
            None => return Err("no auth_time"),
        };
        let sub = c.sub.unwrap_or_default();
        if sub.is_empty() || sub.chars().count() > MAX_UID_CHARS {
            return Err("sub is empty or longer than 128 characters");
        }
        // Our ids are `[A-Za-z0-9_-]`, which every uid Firebase generates
        // is; a custom uid outside that cannot be stored as a person.
        let id = UserId::parse(&sub).map_err(|_| "sub has characters livedrop ids cannot hold")?;
        let email = c.email.ok_or("no email: livedrop needs an e-mail address to share by")?;
        let email = Email::parse(&email).map_err(|_| "email is not an e-mail address")?;
        if !self.config.accept_unverified_email && c.email_verified != Some(true) {
            return Err("email is not verified");
        }
        Ok((User { id, email }, auth_time))
    }

    /// The current certificates, fetched when there are none or they went
    /// stale.
    async fn keys(&self) -> Result<Arc<KeySet>> {
        let mut slot = self.keys.lock().await;
        let now = (self.clock)();
        if let Some(k) = slot.as_ref().filter(|k| k.fresh_until > now) {
            return Ok(k.clone());
        }
        let fetched = Arc::new(self.fetch_keys(now).await?);
        *slot = Some(fetched.clone());
        Ok(fetched)
    }

    async fn fetch_keys(&self, now: Timestamp) -> Result<KeySet> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::internal(format!("cannot fetch the Firebase token certificates from {}: {e}", self.config.certs_url))
        };
        let res = self.http.get(&self.config.certs_url).send().await.map_err(|e| fail(&e))?;
        if !res.status().is_success() {
            return Err(fail(&res.status()));
        }
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let lifetime = freshness(header("cache-control").as_deref(), header("age").as_deref());
        let certs: HashMap<String, String> = res.json().await.map_err(|e| fail(&e))?;
        let mut keys = HashMap::new();
        for (kid, pem) in certs {
            // `from_rsa_pem` takes the certificate and uses its public key.
            match DecodingKey::from_rsa_pem(pem.as_bytes()) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(e) => tracing::warn!(kid, error = %e, "skipping a Firebase certificate that does not parse"),
            }
        }
        if keys.is_empty() {
            return Err(fail(&"the answer holds no usable certificate"));
        }
        Ok(KeySet { keys, fresh_until: now + lifetime })
    }

    /// Stores the profile and welcomes the person, the first time this
    /// process sees them (or sees them with a new address).
    async fn remember(&self, user: &User) -> Result<()> {
        if self.known.lock().expect("not poisoned").get(&user.id) == Some(&user.email) {
            return Ok(());
        }
        if self.store.user_by_id(&user.id).await?.as_ref() != Some(user) {
            self.store.upsert_user(user).await?;
        }
        if let Some(hook) = &self.first_sign_in {
            // Not remembered if this fails, so the next request tries again.
            hook.first_sign_in(user).await?;
        }
        self.known.lock().expect("not poisoned").insert(user.id.clone(), user.email.clone());
        Ok(())
    }
}

/// How long an answer stays fresh: `max-age` less `Age`; zero (fetch again
/// next time) without `max-age`, or with `no-store`/`no-cache`.
fn freshness(cache_control: Option<&str>, age: Option<&str>) -> SignedDuration {
    let mut max_age = None;
    for directive in cache_control.unwrap_or("").split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return SignedDuration::ZERO;
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    let age = age.and_then(|a| a.trim().parse::<i64>().ok()).unwrap_or(0);
    SignedDuration::from_secs(max_age.map_or(0, |m| (m - age).max(0)))
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

#[async_trait]
impl Identity for FirebaseAuth {
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Option<Principal>> {
        // Cloud mode has no cookie sessions: the web app sends its ID token.
        let Credential::Bearer(token) = credential else {
            return Ok(None);
        };
        match self.verify_signed_in(token).await? {
            Ok((user, auth_time)) => {
                self.remember(&user).await?;
                Ok(Some(Principal {
                    user,
                    csrf_token: None,
                    credential: None,
                    expires_at: None,
                    signed_in_at: Timestamp::from_second(auth_time).ok(),
                }))
            }
            Err(why) => {
                tracing::debug!(reason = why, "refused a Firebase ID token");
                Ok(None)
            }
        }
    }

    /// Asks Firebase Auth about the account: gone, disabled, or its tokens
    /// revoked since this one's sign-in (a password change, or a revocation
    /// by an administrator, moves `validSince`) means no.
    async fn still_valid(&self, p: &Principal) -> Result<bool> {
        let Some(lookup) = &self.accounts else { return Ok(true) };
        let account = lookup.account(&self.http, &self.config.project_id, &p.user.id).await?;
        let Some(account) = account else { return Ok(false) };
        if account.disabled {
            return Ok(false);
        }
        let valid_since = account.valid_since.as_deref().and_then(|v| v.parse::<i64>().ok());
        let signed_in = p.signed_in_at.map(|t| t.as_second());
        Ok(match (valid_since, signed_in) {
            (Some(since), Some(at)) => at >= since,
            (Some(_), None) => false,
            (None, _) => true,
        })
    }
}

/// How the API reads an account from Firebase Auth (its Admin REST API,
/// `accounts:lookup`): for `still_valid`.
pub struct AccountLookup {
    /// `https://identitytoolkit.googleapis.com/v1`, or the emulator's.
    base: String,
    /// `None` with the emulator, which takes `Bearer owner` as an admin.
    tokens: Option<crate::cloud::service_account::AccessTokens>,
}

/// What `accounts:lookup` says of an account, as far as revocation goes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo {
    #[serde(default)]
    disabled: bool,
    /// Seconds since the epoch, as a string: tokens issued before are revoked.
    valid_since: Option<String>,
}

/// The scope of Firebase Auth's Admin API.
pub const IDENTITY_TOOLKIT_SCOPE: &str = "https://www.googleapis.com/auth/identitytoolkit";

impl AccountLookup {
    /// The emulator at `host` (`FIREBASE_AUTH_EMULATOR_HOST`).
    pub fn emulator(host: &str) -> Self {
        Self { base: format!("http://{host}/identitytoolkit.googleapis.com/v1"), tokens: None }
    }

    /// Google's, as the service account.
    pub fn google(tokens: crate::cloud::service_account::AccessTokens) -> Self {
        Self { base: "https://identitytoolkit.googleapis.com/v1".into(), tokens: Some(tokens) }
    }

    async fn account(&self, http: &reqwest::Client, project: &str, uid: &UserId) -> Result<Option<AccountInfo>> {
        let bearer = match &self.tokens {
            Some(t) => t.token().await?,
            None => "owner".to_owned(),
        };
        let url = format!("{}/projects/{project}/accounts:lookup", self.base);
        let res = http
            .post(url)
            .bearer_auth(bearer)
            .json(&serde_json::json!({ "localId": [uid.as_str()] }))
            .send()
            .await
            .map_err(|e| Error::internal(format!("Firebase Auth account lookup failed: {e}")))?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            return Err(Error::internal(format!(
                "Firebase Auth refused the account lookup ({status}): {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        #[derive(Deserialize)]
        struct Found {
            #[serde(default)]
            users: Vec<AccountInfo>,
        }
        let found: Found =
            res.json().await.map_err(|e| Error::internal(format!("unexpected account lookup answer: {e}")))?;
        Ok(found.users.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_follows_max_age_less_age() {
        let s = |cc, age| freshness(cc, age).as_secs();
        assert_eq!(s(Some("public, max-age=19302, must-revalidate, no-transform"), None), 19302);
        assert_eq!(s(Some("public, max-age=100"), Some("30")), 70);
        assert_eq!(s(Some("max-age=10"), Some("99")), 0);
        assert_eq!(s(Some("no-cache, max-age=100"), None), 0);
        assert_eq!(s(Some("public"), None), 0);
        assert_eq!(s(None, None), 0);
    }
}
