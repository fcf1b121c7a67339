//! Cloud mode wired together: Firestore for metadata, Cloud Storage for
//! bytes, Firebase Auth for identity, and no server-side feed (browsers
//! listen to Firestore directly). The same `AppState` and router serve
//! `livedrop serve --backend firebase` and every Vercel function in `api/`.

use std::sync::Arc;

use axum::Router;

use super::firebase_auth::{FirebaseAuth, FirebaseAuthConfig};
use super::firestore::FirestoreStore;
use super::gcs::{GcsConfig, GcsStore};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::feed::NoFeed;
use crate::http::{AppState, router};
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
    let blobs = Arc::new(GcsStore::new(GcsConfig::from_env()?)?);
    // Link password attempts are counted in Firestore: every function
    // instance sees the same counts.
    let service =
        Arc::new(Service::new(store.clone(), blobs, Arc::new(NoFeed), settings.config).with_attempts(store.clone()));
    let identity = FirebaseAuth::new(FirebaseAuthConfig::from_env(&settings.project_id)?, store)?
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
