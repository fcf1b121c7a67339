//! Who is asking: the `Identity` trait and the self-hosted local accounts.
//!
//! Self-hosted, people sign up with an e-mail and a password (argon2id),
//! browsers carry a session cookie and scripts an API token; both are random
//! 256-bit secrets stored only as SHA-256. In cloud mode a Firebase ID token
//! is the credential and Firebase Auth owns the accounts.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::{Email, Password, User, UserId, hash_password, random_token, sha256_hex, verify_password};
use crate::error::{Error, Result};
use crate::store::MetadataStore;
use crate::store::sqlite::{Db, ms, ts};

/// What a request carried.
pub enum Credential<'a> {
    /// The browser's session cookie.
    Session(&'a str),
    /// `Authorization: Bearer …`: an API token or a Firebase ID token.
    Bearer(&'a str),
}

/// An authenticated person.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Set for cookie sessions: state-changing requests must echo it in
    /// `X-CSRF-Token`. Bearer credentials cannot be sent by another site,
    /// so they need none.
    pub csrf_token: Option<String>,
    /// Which credential this is (`session:<hash>`, `token:<id>`), for
    /// ending what it opened (live feeds) when it is signed out or
    /// revoked; `None` for credentials that end on their own within the
    /// hour (Firebase ID tokens).
    pub credential: Option<String>,
    /// When the credential ends by itself (a session's expiry), so that
    /// what it opened ends then too; `None` when it does not, or not here.
    pub expires_at: Option<Timestamp>,
    /// When its holder signed in, where the credential says (a Firebase ID
    /// token's `auth_time`), for `Identity::still_valid`.
    pub signed_in_at: Option<Timestamp>,
}

#[async_trait]
pub trait Identity: Send + Sync + 'static {
    /// `Ok(None)` when the credential is unknown, expired or revoked.
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Option<Principal>>;

    /// Whether an accepted credential still stands, asked again before the
    /// requests that matter (sharing, links, deleting). A self-contained
    /// token (a Firebase ID token) outlives a password change or a disabled
    /// account until it expires; asking the provider catches that. Local
    /// credentials are looked up on every request, so they stand.
    async fn still_valid(&self, _principal: &Principal) -> Result<bool> {
        Ok(true)
    }
}

/// Whether people have proved they own their addresses, which decides
/// whether something shared with an address reaches an account.
#[async_trait]
pub trait Addresses: Send + Sync + 'static {
    /// Whether `user` has proved `user.email` is theirs.
    async fn verified(&self, user: &User) -> Result<bool>;
    /// A secret that proves `email` to whoever holds it, for the link of an
    /// invitation to that address; `None` where the sign-in provider
    /// verifies addresses itself and a plain sign-up link will do.
    async fn invitation_token(&self, email: &Email) -> Result<Option<String>>;
}

/// The cloud's rule: Firebase Auth verifies addresses, and
/// `cloud::firebase_auth` refuses tokens whose address it has not (outside
/// the emulators), so everyone who reaches the service has proved theirs.
pub struct ProviderVerified;

#[async_trait]
impl Addresses for ProviderVerified {
    async fn verified(&self, _user: &User) -> Result<bool> {
        Ok(true)
    }

    async fn invitation_token(&self, _email: &Email) -> Result<Option<String>> {
        Ok(None)
    }
}

/// What a proof of an address was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The letter sent at sign-up (or sent again on request).
    Verify,
    /// The link of an invitation, mailed or handed over by the sharer.
    Invitation,
}

impl Proof {
    fn as_str(self) -> &'static str {
        match self {
            Proof::Verify => "verify",
            Proof::Invitation => "invitation",
        }
    }

    fn lifetime(self) -> SignedDuration {
        match self {
            Proof::Verify => SignedDuration::from_hours(48),
            Proof::Invitation => SignedDuration::from_hours(24 * 30),
        }
    }
}

/// Prefix of API tokens, so that people (and secret scanners) recognise them.
pub const API_TOKEN_PREFIX: &str = "ldt_";
const SESSION_DAYS: i64 = 30;

/// The CSRF token of a session: derived from the session secret, so it needs
/// no storage, and useless to anyone who cannot already read the cookie.
fn csrf_for(session_token: &str) -> String {
    sha256_hex(&format!("livedrop-csrf:{session_token}"))[..32].to_owned()
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// When it stops working by itself; `None`: when it is revoked.
    pub expires_at: Option<Timestamp>,
}

/// The longest an API token may be made to last.
pub const API_TOKEN_MAX_DAYS: i64 = 3650;

/// A new browser session: the cookie value and its CSRF token.
pub struct NewSession {
    pub user: User,
    pub token: String,
    pub csrf_token: String,
}

/// What authenticating a local credential found.
struct Found {
    user: User,
    key: String,
    expires_at: Option<Timestamp>,
}

/// Self-hosted accounts, in the same SQLite file as the metadata.
pub struct LocalAccounts {
    db: Arc<Db>,
    store: Arc<dyn MetadataStore>,
    /// Announces each credential that ends (`Principal::credential`).
    ended: broadcast::Sender<String>,
}

impl LocalAccounts {
    pub fn new(db: Arc<Db>, store: Arc<dyn MetadataStore>) -> Self {
        Self { db, store, ended: broadcast::channel(256).0 }
    }

    /// Credentials as they are signed out or revoked, so that connections
    /// they opened can close. A receiver that lags has missed some and
    /// should assume its own credential may be among them.
    pub fn ended(&self) -> broadcast::Receiver<String> {
        self.ended.subscribe()
    }

    pub async fn sign_up(&self, email: Email, password: Password) -> Result<NewSession> {
        let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(Error::internal)??;
        let user = User { id: UserId::generate(), email };
        self.store.create_user(&user).await?;
        let id = user.id.clone();
        self.db
            .write(move |tx| {
                tx.execute("INSERT INTO passwords (user_id, hash) VALUES (?1, ?2)", params![id.as_str(), hash])?;
                Ok(())
            })
            .await?;
        self.new_session(user).await
    }

    /// Checks the password; the same error whether the address is unknown
    /// or the password wrong, and the same work (a hash check) either way.
    pub async fn sign_in(&self, email: &Email, password: String) -> Result<NewSession> {
        let user = self.store.user_by_email(email).await?;
        let ok = self.password_matches(user.as_ref().map(|u| &u.id), password).await?;
        match (user, ok) {
            (Some(user), true) => self.new_session(user).await,
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// Whether `password` is the person's. Nobody (`None`), or a person
    /// without a password, costs the same hash check, so timing does not
    /// tell which addresses have accounts.
    async fn password_matches(&self, user: Option<&UserId>, password: String) -> Result<bool> {
        let hash = match user {
            Some(id) => {
                let id = id.clone();
                self.db
                    .read(move |c| {
                        Ok(c.query_row("SELECT hash FROM passwords WHERE user_id = ?1", [id.as_str()], |r| {
                            r.get::<_, String>(0)
                        })
                        .optional()?)
                    })
                    .await?
            }
            None => None,
        };
        let known = hash.is_some();
        let ok = tokio::task::spawn_blocking(move || {
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let dummy = DUMMY.get_or_init(|| {
                hash_password(&Password::parse("not a real password").expect("long enough")).unwrap_or_default()
            });
            verify_password(&password, hash.as_deref().unwrap_or(dummy))
        })
        .await
        .map_err(Error::internal)?;
        Ok(known && ok)
    }

    /// Ends every session of `user` but the credential asking (`keep`, as
    /// `Principal::credential` names it), and closes their feeds. Returns
    /// how many ended.
    pub async fn sign_out_others(&self, user: &UserId, keep: Option<&str>) -> Result<u64> {
        let keep = keep.and_then(|k| k.strip_prefix("session:")).map(str::to_owned);
        let id = user.clone();
        let ended: Vec<String> = self
            .db
            .write(move |tx| {
                let mut select = tx.prepare("SELECT token_hash FROM sessions WHERE user_id = ?1")?;
                let hashes = select.query_map([id.as_str()], |r| r.get::<_, String>(0))?;
                let gone: Vec<String> = hashes
                    .collect::<rusqlite::Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|h| Some(h) != keep.as_ref())
                    .collect();
                for h in &gone {
                    tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])?;
                }
                Ok(gone)
            })
            .await?;
        for h in &ended {
            // Nobody listening is fine.
            let _ = self.ended.send(format!("session:{h}"));
        }
        Ok(ended.len() as u64)
    }

    /// Changes the password, if `current` is it, and ends every other
    /// session (API tokens stay: they are revoked one by one). Returns how
    /// many sessions ended.
    pub async fn change_password(
        &self,
        user: &UserId,
        current: String,
        new: Password,
        keep: Option<&str>,
    ) -> Result<u64> {
        if !self.password_matches(Some(user), current).await? {
            return Err(Error::WrongCurrentPassword);
        }
        let hash = tokio::task::spawn_blocking(move || hash_password(&new)).await.map_err(Error::internal)??;
        let id = user.clone();
        self.db
            .write(move |tx| {
                tx.execute("UPDATE passwords SET hash = ?2 WHERE user_id = ?1", params![id.as_str(), hash])?;
                Ok(())
            })
            .await?;
        self.sign_out_others(user, keep).await
    }

    async fn new_session(&self, user: User) -> Result<NewSession> {
        let token = random_token(32);
        let (hash, id) = (sha256_hex(&token), user.id.clone());
        let now = Timestamp::now();
        let expires = now + SignedDuration::from_hours(24 * SESSION_DAYS);
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![hash, id.as_str(), ms(now), ms(expires)],
                )?;
                Ok(())
            })
            .await?;
        Ok(NewSession { user, csrf_token: csrf_for(&token), token })
    }

    pub async fn sign_out(&self, session_token: &str) -> Result<()> {
        let hash = sha256_hex(session_token);
        let key = format!("session:{hash}");
        self.db.write(move |tx| Ok(tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [hash])?)).await?;
        // Nobody listening is fine.
        let _ = self.ended.send(key);
        Ok(())
    }

    /// A new secret proving `email` to whoever holds it, for `purpose`'s
    /// lifetime. Only its hash is stored.
    pub async fn new_proof(&self, email: &Email, purpose: Proof) -> Result<String> {
        let token = random_token(32);
        let (hash, email, now) = (sha256_hex(&token), email.to_string(), Timestamp::now());
        let expires = now + purpose.lifetime();
        self.db
            .write(move |tx| {
                // Expired proofs go as new ones are made.
                tx.execute("DELETE FROM address_proofs WHERE expires_at <= ?1", [ms(now)])?;
                tx.execute(
                    "INSERT INTO address_proofs (token_hash, email, purpose, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash, email, purpose.as_str(), ms(now), ms(expires)],
                )?;
                Ok(())
            })
            .await?;
        Ok(token)
    }

    /// Marks `user`'s address as theirs if `token` is a live proof of it.
    /// Every proof of the address is used up with it.
    pub async fn prove(&self, user: &User, token: &str) -> Result<()> {
        let (hash, now) = (sha256_hex(token.trim()), Timestamp::now());
        let (id, email) = (user.id.clone(), user.email.to_string());
        self.db
            .write(move |tx| {
                let proved: Option<String> = tx
                    .query_row(
                        "SELECT email FROM address_proofs WHERE token_hash = ?1 AND expires_at > ?2",
                        params![hash, ms(now)],
                        |r| r.get(0),
                    )
                    .optional()?;
                match proved {
                    None => return Err(Error::ProofInvalid),
                    Some(e) if e != email => return Err(Error::ProofForOtherAddress),
                    Some(_) => {}
                }
                tx.execute(
                    "INSERT INTO verified_addresses (user_id, email, verified_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at",
                    params![id.as_str(), email, ms(now)],
                )?;
                tx.execute("DELETE FROM address_proofs WHERE email = ?1", [&email])?;
                Ok(())
            })
            .await
    }

    /// Removes sessions past their expiry (they already sign nobody in);
    /// returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let now = ms(Timestamp::now());
        let n = self.db.write(move |tx| Ok(tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)).await?;
        Ok(n as u64)
    }

    /// Creates an API token, which ends by itself after `days` if given;
    /// the secret is returned once and never again.
    pub async fn create_token(&self, user: &UserId, name: &str, days: Option<i64>) -> Result<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::InvalidRequest("a token name needs 1 to 100 printable characters".into()));
        }
        if days.is_some_and(|d| !(1..=API_TOKEN_MAX_DAYS).contains(&d)) {
            return Err(Error::InvalidRequest(format!("expires_in_days must be 1 to {API_TOKEN_MAX_DAYS}")));
        }
        let secret = format!("{API_TOKEN_PREFIX}{}", random_token(32));
        // As stored: to the millisecond, so that the list says the same.
        let created_at = crate::service::now();
        let expires_at = days.map(|d| created_at + SignedDuration::from_hours(24 * d));
        let token =
            ApiToken { id: random_token(12), name: name.to_owned(), created_at, last_used_at: None, expires_at };
        let (t, hash, user) = (token.clone(), sha256_hex(&secret), user.clone());
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![t.id, user.as_str(), t.name, hash, ms(t.created_at), t.expires_at.map(ms)],
                )?;
                Ok(())
            })
            .await?;
        Ok((token, secret))
    }

    pub async fn tokens(&self, user: &UserId) -> Result<Vec<ApiToken>> {
        let user = user.clone();
        self.db
            .read(move |c| {
                Ok(c.prepare("SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = ?1 ORDER BY created_at, id")?
                    .query_map([user.as_str()], |r| {
                        Ok(ApiToken {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            created_at: ts(r.get(2)?),
                            last_used_at: r.get::<_, Option<i64>>(3)?.map(ts),
                            expires_at: r.get::<_, Option<i64>>(4)?.map(ts),
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    /// Revokes one of `user`'s tokens; someone else's token is not found.
    pub async fn revoke_token(&self, user: &UserId, id: &str) -> Result<()> {
        let key = format!("token:{id}");
        let (user, id) = (user.clone(), id.to_owned());
        let n = self
            .db
            .write(move |tx| {
                Ok(tx.execute("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2", params![id, user.as_str()])?)
            })
            .await?;
        if n == 0 {
            return Err(Error::not_found("token"));
        }
        let _ = self.ended.send(key);
        Ok(())
    }

    /// The person and the credential key `sql` finds (it selects both).
    /// The person `sql` finds, the credential's key and when it expires
    /// (`sql` selects the three).
    async fn user_for(&self, sql: &'static str, hash: String, now: Timestamp) -> Result<Option<Found>> {
        let row: Option<(String, String, Option<i64>)> = self
            .db
            .read(move |c| {
                Ok(c.query_row(sql, params![hash, ms(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?)
            })
            .await?;
        let Some((id, key, expires)) = row else { return Ok(None) };
        let user = self.store.user_by_id(&UserId::parse(&id)?).await?;
        Ok(user.map(|user| Found { user, key, expires_at: expires.map(ts) }))
    }
}

#[async_trait]
impl Addresses for LocalAccounts {
    async fn verified(&self, user: &User) -> Result<bool> {
        let (id, email) = (user.id.clone(), user.email.to_string());
        self.db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT 1 FROM verified_addresses WHERE user_id = ?1 AND email = ?2",
                    params![id.as_str(), email],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
            })
            .await
    }

    async fn invitation_token(&self, email: &Email) -> Result<Option<String>> {
        self.new_proof(email, Proof::Invitation).await.map(Some)
    }
}

#[async_trait]
impl Identity for LocalAccounts {
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Option<Principal>> {
        let now = Timestamp::now();
        match credential {
            Credential::Session(token) => {
                let user = self
                    .user_for(
                        "SELECT user_id, 'session:' || token_hash, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                        sha256_hex(token),
                        now,
                    )
                    .await?;
                Ok(user.map(|f| Principal {
                    user: f.user,
                    csrf_token: Some(csrf_for(token)),
                    credential: Some(f.key),
                    expires_at: f.expires_at,
                    signed_in_at: None,
                }))
            }
            Credential::Bearer(token) if token.starts_with(API_TOKEN_PREFIX) => {
                let hash = sha256_hex(token);
                let user = self
                    .user_for(
                        "SELECT user_id, 'token:' || id, expires_at FROM api_tokens WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
                        hash.clone(),
                        now,
                    )
                    .await?;
                if user.is_some() {
                    // Best effort: a failed write here must not fail the request.
                    let _ = self
                        .db
                        .write(move |tx| {
                            Ok(tx.execute(
                                "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60000)",
                                params![hash, ms(now)],
                            )?)
                        })
                        .await;
                }
                Ok(user.map(|f| Principal {
                    user: f.user,
                    csrf_token: None,
                    credential: Some(f.key),
                    expires_at: f.expires_at,
                    signed_in_at: None,
                }))
            }
            Credential::Bearer(_) => Ok(None),
        }
    }
}
