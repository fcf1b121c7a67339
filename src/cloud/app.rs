//! Cloud mode wired together: Firestore for metadata, Cloud Storage for
//! bytes, Firebase Auth for identity, and no server-side feed (browsers
//! listen to Firestore directly). The same `AppState` and router serve
//! `livedrop serve --backend firebase` and every Vercel function in `api/`.

use std::sync::Arc;

use axum::Router;

use super::firebase_auth::{AccountLookup, FirebaseAuth, FirebaseAuthConfig, IDENTITY_TOOLKIT_SCOPE};
use super::firestore::FirestoreStore;
use super::gcs::{GcsConfig, GcsStore};
use super::service_account::AccessTokens;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::feed::NoFeed;
use crate::http::{AppState, router};
use crate::identity::ProviderVerified;
use crate::mail::Postman;
use crate::mail::smtp::{SmtpMailer, SmtpSettings, public_url_from_env};
use crate::service::Service;

/// What cloud mode reads from its environment (documented in `.env.example`).
#[derive(Debug, Clone)]
pub struct CloudSettings {
    /// `LIVEDROP_FIREBASE_PROJECT`: the Firebase / Google Cloud project id.
    pub project_id: String,
    /// `LIVEDROP_FIREBASE_WEB_CONFIG`: the web app's Firebase config (JSON:
    /// apiKey, authDomain, projectId, ...), handed to browsers by
    /// `GET /api/config` so one web build serves any project.
    pub web_config: serde_json::Value,
    pub config: Config,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl CloudSettings {
    pub fn from_env(config: Config) -> Result<Self> {
        let project_id = var("LIVEDROP_FIREBASE_PROJECT")
            .or_else(|| var("GOOGLE_CLOUD_PROJECT"))
            .ok_or_else(|| Error::internal("set LIVEDROP_FIREBASE_PROJECT to the Firebase project id"))?;
        // Before connecting to anything: a stray emulator variable in
        // production stops the start here, saying why.
        FirebaseAuthConfig::from_env(&project_id)?;
        let mut web_config = match var("LIVEDROP_FIREBASE_WEB_CONFIG") {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::internal(format!("LIVEDROP_FIREBASE_WEB_CONFIG is not JSON: {e}")))?,
            None => serde_json::json!({ "projectId": project_id, "apiKey": "demo-api-key" }),
        };
        // Browsers talk to the same emulators as the server, when there are.
        let emulators = serde_json::json!({
            "auth": var("FIREBASE_AUTH_EMULATOR_HOST").map(|h| format!("http://{h}")),
            "firestore": var("FIRESTORE_EMULATOR_HOST"),
        });
        if let Some(obj) = web_config.as_object_mut() {
            obj.insert("emulators".into(), emulators);
        }
        Ok(Self { project_id, web_config, config })
    }
}

/// The API's state in cloud mode.
pub async fn state(settings: CloudSettings) -> Result<AppState> {
    let store = Arc::new(FirestoreStore::connect(&settings.project_id).await?);
    // Documents an earlier release wrote: one read once they are current.
    store.upgrade().await?;
    let gcs = GcsConfig::from_env()?;
    // Revocation is checked with Firebase Auth's Admin API, as the same
    // service account that signs the storage URLs.
    let lookup = match var("FIREBASE_AUTH_EMULATOR_HOST") {
        Some(host) => AccountLookup::emulator(&host),
        None => AccountLookup::google(AccessTokens::new(
            gcs.account.clone(),
            IDENTITY_TOOLKIT_SCOPE,
            reqwest::Client::new(),
            crate::cloud::clock::system(),
        )),
    };
    let blobs = Arc::new(GcsStore::new(gcs)?);
    // Link password attempts are counted in Firestore: every function
    // instance sees the same counts.
    let mut service = Service::new(store.clone(), blobs, Arc::new(NoFeed), Arc::new(ProviderVerified), settings.config)
        .with_attempts(store.clone())
        .with_preferences(store.clone());
    match SmtpSettings::from_env()? {
        Some(smtp) => {
            let public_url = public_url_from_env()?
                .or_else(|| var("VERCEL_PROJECT_PRODUCTION_URL").map(|host| format!("https://{host}")))
                .ok_or_else(|| {
                    Error::internal("LIVEDROP_PUBLIC_URL must be set with LIVEDROP_SMTP_HOST: letters link to the app")
                })?;
            tracing::info!(host = %smtp.host, port = smtp.port, tls = ?smtp.tls, "mail goes out through SMTP");
            // No postman runs between requests here: each request that posts
            // a letter delivers what is due before its invocation ends.
            let postman = Postman::new(store.clone(), Arc::new(SmtpMailer::new(&smtp)?), &public_url)
                .with_runner(Arc::new(crate::cloud::vercel::after_response));
            service = service.with_mail(Arc::new(postman));
        }
        None => tracing::warn!("no SMTP configured (LIVEDROP_SMTP_HOST): no mail is sent"),
    }
    let service = Arc::new(service);
    let identity = FirebaseAuth::new(FirebaseAuthConfig::from_env(&settings.project_id)?, store)?
        .with_account_lookup(lookup)
        .on_first_sign_in(service.clone());
    let mut state = AppState::new(service, Arc::new(identity), None, None, "cloud");
    state.client_config.firebase = Some(settings.web_config);
    Ok(state)
}

/// The shared API router in cloud mode, configured from the environment:
/// what each Vercel function serves.
pub async fn router_from_env() -> Result<Router> {
    Ok(router(state(CloudSettings::from_env(Config::from_env()?)?).await?))
}
