//! A Google service account: its RSA key signs V4 URLs (`cloud::gcs::v4`)
//! and the JWT assertions that buy OAuth access tokens for the JSON API.
//!
//! The key file is the JSON that the Cloud console downloads
//! (`client_email`, `private_key` as PKCS#8 PEM, `token_uri`). Signing uses
//! aws-lc-rs directly: it is already in the build (jsonwebtoken's backend),
//! and it signs arbitrary bytes, which V4 needs and a JWT library does not
//! offer.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{Error, Result};

/// Google's OAuth token endpoint, used when a key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Read and write objects; nothing else (no bucket or IAM changes).
pub const STORAGE_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// A service account's identity and private key.
pub struct ServiceAccount {
    /// Appears in every signed URL's `X-Goog-Credential`.
    pub client_email: String,
    /// The key's id, sent as `kid` in OAuth assertions.
    pub private_key_id: Option<String>,
    /// Where assertions are exchanged for access tokens.
    pub token_uri: String,
    key: KeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount").field("client_email", &self.client_email).finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Parses a key file's JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        let file: KeyFile = serde_json::from_str(json)
            .map_err(|e| Error::internal(format!("the service account key is not a key file's JSON: {e}")))?;
        if file.kind.as_deref().is_some_and(|k| k != "service_account") {
            return Err(Error::internal(
                "the key file is not a service account key (\"type\" is not \"service_account\")",
            ));
        }
        let key = KeyPair::from_pkcs8(&pem_body(&file.private_key)?)
            .map_err(|e| Error::internal(format!("the service account's private_key is not an RSA PKCS#8 key: {e}")))?;
        Ok(Self {
            client_email: file.client_email,
            private_key_id: file.private_key_id,
            token_uri: file.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
            key,
        })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| Error::internal(format!("cannot read the service account key {}: {e}", path.display())))?;
        Self::from_json(&json)
    }

    /// A throwaway key for the storage emulator, which checks no signature:
    /// local development then needs no key file at all. Never used when a
    /// real endpoint is configured (see `GcsConfig::from_env`).
    pub fn ephemeral(client_email: &str) -> Result<Self> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(Error::internal)?;
        // Round-trip through PKCS#8 so that both constructors share one path.
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).map_err(Error::internal)?;
        let key = KeyPair::from_pkcs8(der.as_ref()).map_err(Error::internal)?;
        Ok(Self {
            client_email: client_email.to_owned(),
            private_key_id: None,
            token_uri: DEFAULT_TOKEN_URI.to_owned(),
            key,
        })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut sig)
            .map_err(Error::internal)?;
        Ok(sig)
    }

    /// The RS256 JWT of the OAuth 2.0 JWT bearer grant (RFC 7523), as
    /// Google's token endpoint wants it.
    pub fn oauth_assertion(&self, scope: &str, now: Timestamp) -> Result<String> {
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = kid.clone().into();
        }
        let iat = now.as_second();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + 3600,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.sign(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

/// The DER inside a PEM block (`-----BEGIN PRIVATE KEY-----` …).
fn pem_body(pem: &str) -> Result<Vec<u8>> {
    let b64: String =
        pem.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect::<Vec<_>>().concat();
    STANDARD.decode(b64).map_err(|_| Error::internal("the service account's private_key is not PEM"))
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<i64>,
}

struct CachedToken {
    token: String,
    /// Refresh before this, so a token never expires mid-request.
    refresh_at: Timestamp,
}

/// OAuth access tokens for one service account and scope, fetched on first
/// use and reused until a minute before they expire. One fetch at a time:
/// concurrent requests wait for it rather than each asking Google.
pub struct AccessTokens {
    account: Arc<ServiceAccount>,
    scope: String,
    http: reqwest::Client,
    cached: Mutex<Option<CachedToken>>,
    clock: crate::cloud::clock::Clock,
}

impl AccessTokens {
    pub fn new(
        account: Arc<ServiceAccount>,
        scope: &str,
        http: reqwest::Client,
        clock: crate::cloud::clock::Clock,
    ) -> Self {
        Self { account, scope: scope.to_owned(), http, cached: Mutex::new(None), clock }
    }

    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        let now = (self.clock)();
        if let Some(c) = cached.as_ref().filter(|c| c.refresh_at > now) {
            return Ok(c.token.clone());
        }
        let assertion = self.account.oauth_assertion(&self.scope, now)?;
        let res = self
            .http
            .post(&self.account.token_uri)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| Error::internal(format!("OAuth token request failed: {e}")))?;
        let status = res.status();
        if !status.is_success() {
            let body = res.text().await.unwrap_or_default();
            return Err(Error::internal(format!(
                "the OAuth token endpoint refused the service account ({status}): {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let t: TokenResponse =
            res.json().await.map_err(|e| Error::internal(format!("unexpected OAuth token response: {e}")))?;
        let lifetime = SignedDuration::from_secs(t.expires_in.unwrap_or(3600));
        let refresh_at = now + (lifetime - SignedDuration::from_secs(60)).max(SignedDuration::ZERO);
        *cached = Some(CachedToken { token: t.access_token.clone(), refresh_at });
        Ok(t.access_token)
    }
}
