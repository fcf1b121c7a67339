//! Firebase ID token verification with a key pair and certificate of the
//! tests' own, served the way Google serves its certificates (a JSON map of
//! key id to PEM certificate, with `Cache-Control: max-age`) from an axum
//! app on 127.0.0.1:0. Profiles and invitations go through the real SQLite
//! store and the real service.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use async_trait::async_trait;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livedrop::blob::disk::DiskBlobs;
use livedrop::blob::signing::Signer;
use livedrop::cloud::firebase_auth::{FirebaseAuth, FirebaseAuthConfig, FirstSignIn};
use livedrop::config::Config;
use livedrop::domain::{ContentType, Crc32c, Email, FileName, User, UserId};
use livedrop::feed::NoFeed;
use livedrop::identity::{Credential, Identity};
use livedrop::service::Service;
use livedrop::store::sqlite::{Db, SqliteStore};
use livedrop::store::{MetadataStore, pending_file};
use serde_json::{Value, json};

const PROJECT: &str = "demo-livedrop";
const KID: &str = "test-key-1";

/// An RSA key pair and a self-signed certificate for it.
struct Signing {
    encoding: EncodingKey,
    cert_pem: String,
}

fn signing_key() -> Signing {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["securetoken.test".to_owned()]).unwrap().self_signed(&key).unwrap();
    Signing { encoding: EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).unwrap(), cert_pem: cert.pem() }
}

/// What the certificate endpoint serves, and how often it was asked.
struct CertServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    cache_control: Arc<std::sync::Mutex<String>>,
    up: Arc<std::sync::atomic::AtomicBool>,
}

async fn cert_server(certs: Value) -> CertServer {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::{Json, Router, routing::get};
    let fetches = Arc::new(AtomicUsize::new(0));
    let cache_control =
        Arc::new(std::sync::Mutex::new(String::from("public, max-age=3600, must-revalidate, no-transform")));
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (f, cc, u) = (fetches.clone(), cache_control.clone(), up.clone());
    let app = Router::new().route(
        "/certs",
        get(move || {
            let (certs, f, cc, u) = (certs.clone(), f.clone(), cc.clone(), u.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let mut h = HeaderMap::new();
                h.insert(header::CACHE_CONTROL, cc.lock().unwrap().parse().unwrap());
                let status = if u.load(Ordering::SeqCst) { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                (status, h, Json(certs))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    CertServer { url, fetches, cache_control, up }
}

/// A clock the test moves.
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn new() -> Self {
        Self(Arc::new(AtomicI64::new(Timestamp::now().as_second())))
    }
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn clock(&self) -> livedrop::cloud::clock::Clock {
        let t = self.0.clone();
        Arc::new(move || Timestamp::from_second(t.load(Ordering::SeqCst)).unwrap())
    }
}

/// Counts how often the service is told about a first sign-in.
struct Counting {
    service: Arc<Service>,
    calls: AtomicUsize,
}

#[async_trait]
impl FirstSignIn for Counting {
    async fn first_sign_in(&self, user: &User) -> livedrop::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.service.first_sign_in(user).await
    }
}

struct Fixture {
    key: Signing,
    certs: CertServer,
    clock: TestClock,
    store: Arc<dyn MetadataStore>,
    service: Arc<Service>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let key = signing_key();
        let certs = cert_server(json!({ KID: key.cert_pem, "other-key": signing_key().cert_pem })).await;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::new(Db::open(&dir.path().join("t.db"), 2).unwrap()));
        let blobs = Arc::new(DiskBlobs::open(&dir.path().join("blobs"), Signer::new([7; 32])).unwrap());
        let service = Arc::new(Service::new(
            store.clone(),
            blobs,
            Arc::new(NoFeed),
            Arc::new(livedrop::identity::ProviderVerified),
            Config::default(),
        ));
        Self { key, certs, clock: TestClock::new(), store, service, _dir: dir }
    }

    fn config(&self, emulator: bool) -> FirebaseAuthConfig {
        FirebaseAuthConfig {
            project_id: PROJECT.into(),
            certs_url: self.certs.url.clone(),
            emulator,
            accept_unverified_email: false,
        }
    }

    fn auth(&self, config: FirebaseAuthConfig) -> FirebaseAuth {
        FirebaseAuth::with_clock(config, self.store.clone(), self.clock.clock()).unwrap()
    }

    /// Claims as Firebase writes them for a fresh sign-in.
    fn claims(&self, uid: &str, email: &str) -> Value {
        let now = self.clock.now();
        json!({
            "iss": format!("https://securetoken.google.com/{PROJECT}"),
            "aud": PROJECT,
            "auth_time": now - 10,
            "user_id": uid,
            "sub": uid,
            "iat": now - 5,
            "exp": now + 3595,
            "email": email,
            "email_verified": true,
            "firebase": { "identities": { "email": [email] }, "sign_in_provider": "password" }
        })
    }

    fn sign(&self, claims: &Value) -> String {
        sign_with(&self.key.encoding, Some(KID), claims)
    }
}

fn sign_with(key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// An unsigned token as the Auth emulator issues them.
fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(claims))
}

async fn who(auth: &FirebaseAuth, token: &str) -> Option<String> {
    auth.authenticate(Credential::Bearer(token)).await.unwrap().map(|p| p.user.id.as_str().to_owned())
}

#[tokio::test]
async fn a_valid_token_signs_in_and_keeps_the_profile_up_to_date() {
    let fx = Fixture::new().await;
    let auth = fx.auth(fx.config(false));
    let token = fx.sign(&fx.claims("uidAnn123", "Ann@Example.com"));
    let p = auth.authenticate(Credential::Bearer(&token)).await.unwrap().expect("accepted");
    assert_eq!((p.user.id.as_str(), p.user.email.as_str()), ("uidAnn123", "ann@example.com"));
    assert!(p.csrf_token.is_none(), "bearer credentials need no CSRF token");
    let stored = fx.store.user_by_id(&p.user.id).await.unwrap().expect("profile stored");
    assert_eq!(stored.email.as_str(), "ann@example.com");

    // A changed address (the person changed it in Firebase) follows.
    let token = fx.sign(&fx.claims("uidAnn123", "ann@new.example"));
    assert_eq!(who(&auth, &token).await.as_deref(), Some("uidAnn123"));
    let by_new = fx.store.user_by_email(&Email::parse("ann@new.example").unwrap()).await.unwrap();
    assert_eq!(by_new.map(|u| u.id.as_str().to_owned()).as_deref(), Some("uidAnn123"));

    // Cloud mode has no cookie sessions.
    assert!(auth.authenticate(Credential::Session(&token)).await.unwrap().is_none());
}

#[tokio::test]
async fn every_claim_and_header_is_checked() {
    let fx = Fixture::new().await;
    let auth = fx.auth(fx.config(false));
    let good = fx.claims("uidBob456", "bob@example.com");
    assert!(who(&auth, &fx.sign(&good)).await.is_some(), "the baseline is accepted");
    let now = fx.clock.now();

    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let claim_cases: Vec<(&str, Value)> = vec![
        ("iss of another project", with("iss", json!("https://securetoken.google.com/other-project"))),
        ("iss of another issuer", with("iss", json!("https://accounts.google.com"))),
        ("no iss", without("iss")),
        ("aud of another project", with("aud", json!("other-project"))),
        ("aud as a list", with("aud", json!([PROJECT]))),
        ("no aud", without("aud")),
        ("expired", with("exp", json!(now - 1))),
        ("expiring this second", with("exp", json!(now))),
        ("no exp", without("exp")),
        ("issued in the future", with("iat", json!(now + 300))),
        ("no iat", without("iat")),
        ("authenticated in the future", with("auth_time", json!(now + 300))),
        ("no auth_time", without("auth_time")),
        ("empty sub", with("sub", json!(""))),
        ("sub of 129 characters", with("sub", json!("a".repeat(129)))),
        ("no sub", without("sub")),
        ("no email", without("email")),
        ("email that is not an address", with("email", json!("not-an-address"))),
        ("unverified email", with("email_verified", json!(false))),
        ("no email_verified", without("email_verified")),
    ];
    for (what, claims) in &claim_cases {
        assert_eq!(who(&auth, &fx.sign(claims)).await, None, "{what} must be refused");
    }
    // Limits: 128 characters and a minute of clock skew are fine.
    let long = fx.claims(&"b".repeat(128), "long@example.com");
    assert!(who(&auth, &fx.sign(&long)).await.is_some(), "sub of 128 characters");
    assert!(who(&auth, &fx.sign(&with("iat", json!(now + 30)))).await.is_some(), "iat 30 s ahead");

    let stranger = signing_key();
    let token = fx.sign(&good);
    let (head, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let forged_payload = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(with("sub", json!("uidMallory")).to_string())
    };
    let header_cases: Vec<(&str, String)> = vec![
        ("signed by another key under our kid", sign_with(&stranger.encoding, Some(KID), &good)),
        ("signed by an unpublished key under the other published kid", {
            let other = signing_key();
            sign_with(&other.encoding, Some("other-key"), &good)
        }),
        ("no kid", sign_with(&fx.key.encoding, None, &good)),
        ("an unknown kid", sign_with(&fx.key.encoding, Some("no-such-key"), &good)),
        ("HS256 keyed with the certificate", {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some(KID.into());
            jsonwebtoken::encode(&h, &good, &EncodingKey::from_secret(fx.key.cert_pem.as_bytes())).unwrap()
        }),
        ("RS512 instead of RS256", {
            let mut h = Header::new(Algorithm::RS512);
            h.kid = Some(KID.into());
            jsonwebtoken::encode(&h, &good, &fx.key.encoding).unwrap()
        }),
        ("a payload swapped under a valid signature", format!("{head}.{forged_payload}.{sig}")),
        ("no signature", format!("{head}.{}.", rest.split_once('.').unwrap().0)),
        ("unsigned, without the emulator", unsigned(&good)),
        ("not a JWT", "ldt_not-a-jwt".into()),
        ("four parts", format!("{token}.x")),
        ("empty", String::new()),
    ];
    for (what, token) in &header_cases {
        assert_eq!(who(&auth, token).await, None, "{what} must be refused");
    }
    assert!(fx.store.user_by_id(&UserId::parse("uidMallory").unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn unsigned_emulator_tokens_are_accepted_only_in_emulator_mode_and_still_checked() {
    let fx = Fixture::new().await;
    let claims = fx.claims("uidEmu789", "emu@example.com");
    let production = fx.auth(fx.config(false));
    assert_eq!(who(&production, &unsigned(&claims)).await, None);

    let emulator = fx.auth(fx.config(true));
    assert_eq!(who(&emulator, &unsigned(&claims)).await.as_deref(), Some("uidEmu789"));
    // Signed tokens keep working next to the emulator's.
    assert!(who(&emulator, &fx.sign(&claims)).await.is_some());
    // Unsigned is no licence to skip the claim checks.
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("other-project");
    assert_eq!(who(&emulator, &unsigned(&wrong_aud)).await, None);
    let mut expired = claims.clone();
    expired["exp"] = json!(fx.clock.now() - 1);
    assert_eq!(who(&emulator, &unsigned(&expired)).await, None);
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://securetoken.google.com/other-project");
    assert_eq!(who(&emulator, &unsigned(&wrong_iss)).await, None);
    // An "unsigned" token that carries a signature is malformed.
    assert_eq!(who(&emulator, &format!("{}c2ln", unsigned(&claims))).await, None);

    // `from_env` turns on emulator mode (and unverified addresses) only
    // with FIREBASE_AUTH_EMULATOR_HOST; tests/firebase_auth_env.rs checks
    // the variable itself.
    let config = FirebaseAuthConfig { emulator: true, accept_unverified_email: true, ..fx.config(true) };
    let mut unverified = fx.claims("uidEmuNew", "new@example.com");
    unverified["email_verified"] = json!(false);
    assert!(who(&fx.auth(config), &unsigned(&unverified)).await.is_some());
}

#[tokio::test]
async fn certificates_are_fetched_once_and_again_when_their_max_age_has_passed() {
    let fx = Fixture::new().await;
    *fx.certs.cache_control.lock().unwrap() = "public, max-age=100, must-revalidate, no-transform".into();
    let auth = fx.auth(fx.config(false));
    for i in 0..3 {
        let email = format!("c{i}@example.com");
        assert!(who(&auth, &fx.sign(&fx.claims(&format!("uid{i}"), &email))).await.is_some());
    }
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 1, "cached within max-age");

    fx.clock.advance(99);
    assert!(who(&auth, &fx.sign(&fx.claims("uidX", "x@example.com"))).await.is_some());
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 1);
    fx.clock.advance(2);
    assert!(who(&auth, &fx.sign(&fx.claims("uidY", "y@example.com"))).await.is_some());
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 2, "fetched again after max-age");

    // An unknown kid does not make us ask Google again (no fetch storms).
    assert_eq!(who(&auth, &sign_with(&fx.key.encoding, Some("rotated?"), &fx.claims("z", "z@e.com"))).await, None);
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 2);

    // Concurrent requests on a cold cache share one fetch.
    let cold = Arc::new(fx.auth(fx.config(false)));
    let token = fx.sign(&fx.claims("uidC", "c@example.com"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (a, t) = (cold.clone(), token.clone());
            tokio::spawn(async move { a.verify(&t).await.unwrap().is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 3);

    // Without max-age nothing is cached.
    *fx.certs.cache_control.lock().unwrap() = "no-cache".into();
    fx.clock.advance(200);
    let fresh = fx.auth(fx.config(false));
    let token = fx.sign(&fx.claims("uidD", "d@example.com"));
    assert!(who(&fresh, &token).await.is_some());
    assert!(who(&fresh, &token).await.is_some());
    assert_eq!(fx.certs.fetches.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn unreachable_certificates_are_an_error_not_a_refusal() {
    let fx = Fixture::new().await;
    fx.certs.up.store(false, Ordering::SeqCst);
    let auth = fx.auth(fx.config(false));
    let token = fx.sign(&fx.claims("uidE", "e@example.com"));
    // A client must not be told "sign in again" when Google is down.
    assert!(auth.authenticate(Credential::Bearer(&token)).await.is_err());
    fx.certs.up.store(true, Ordering::SeqCst);
    assert!(who(&auth, &token).await.is_some());
}

#[tokio::test]
async fn the_first_sign_in_turns_waiting_invitations_into_shares() {
    let fx = Fixture::new().await;
    let counting = Arc::new(Counting { service: fx.service.clone(), calls: AtomicUsize::new(0) });
    let auth = fx.auth(fx.config(false)).on_first_sign_in(counting.clone());

    // Ann (already known) shares a file with an address that has no account.
    let ann = User { id: UserId::parse("uidAnn").unwrap(), email: Email::parse("ann@example.com").unwrap() };
    fx.store.upsert_user(&ann).await.unwrap();
    let at = Timestamp::now();
    let file = pending_file(
        &ann,
        FileName::parse("plan.pdf").unwrap(),
        3,
        ContentType::parse(Some("application/pdf")).unwrap(),
        Crc32c::of(b"abc"),
        at,
    );
    fx.store.insert_pending_file(&file, 1 << 30).await.unwrap();
    fx.store.mark_ready(&file, at, None, None).await.unwrap();
    let carol = Email::parse("carol@example.com").unwrap();
    fx.store.add_invitation(&file.id, &carol, at, None, None).await.unwrap();

    // Carol signs in for the first time: the invitation becomes a share.
    let token = fx.sign(&fx.claims("uidCarol", "carol@example.com"));
    assert_eq!(who(&auth, &token).await.as_deref(), Some("uidCarol"));
    let readers: Vec<String> =
        fx.store.readers(&file.id).await.unwrap().into_iter().map(|u| u.id.as_str().to_owned()).collect();
    assert_eq!(readers, ["uidCarol"]);
    assert!(fx.store.invitations(&file.id).await.unwrap().is_empty());

    // Later requests are known: no second welcome, no store round trip.
    assert!(who(&auth, &token).await.is_some());
    assert_eq!(counting.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_from_the_real_auth_emulator_passes_in_emulator_mode_only() {
    let fx = Fixture::new().await;
    let token =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firebase-auth/emulator_id_token.txt"))
            .unwrap();
    let token = token.trim();
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    // The clock at the moment the emulator issued it.
    let at = Timestamp::from_second(claims["iat"].as_i64().unwrap()).unwrap();
    let verifier =
        |config| FirebaseAuth::with_clock(config, fx.store.clone(), livedrop::cloud::clock::fixed(at)).unwrap();

    let emulator = FirebaseAuthConfig { accept_unverified_email: true, ..fx.config(true) };
    let p = verifier(emulator).authenticate(Credential::Bearer(token)).await.unwrap().expect("accepted");
    assert_eq!((p.user.id.as_str(), p.user.email.as_str()), ("4T2rJaditAEDGketcKw5NLg0fwkw", "dana@example.com"));

    assert!(verifier(fx.config(false)).authenticate(Credential::Bearer(token)).await.unwrap().is_none());
    // In emulator mode but insisting on verified addresses: the emulator's
    // password accounts are unverified.
    assert!(verifier(fx.config(true)).authenticate(Credential::Bearer(token)).await.unwrap().is_none());
}
