//! Where the client keeps its logins and the state of unfinished transfers.
//!
//! ```text
//! <config dir>/credentials.json   logins per server (mode 0600)
//! <config dir>/transfers/*.json   unfinished uploads and downloads, for resuming
//! ```
//!
//! The config dir is `$LIVEDROP_CONFIG_DIR` if set (tests use it), else
//! `$XDG_CONFIG_HOME/livedrop`, else the platform's config dir
//! (`~/.config/livedrop` on Linux).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{CliError, Result};

#[derive(Clone)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn locate() -> Result<Self> {
        let from_env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(dir) = from_env("LIVEDROP_CONFIG_DIR") {
            return Ok(Self { dir });
        }
        let base =
            from_env("XDG_CONFIG_HOME").filter(|p| p.is_absolute()).or_else(dirs::config_dir).ok_or_else(|| {
                CliError::local("cannot find a config directory for livedrop")
                    .hint("set LIVEDROP_CONFIG_DIR or XDG_CONFIG_HOME")
            })?;
        Ok(Self { dir: base.join("livedrop") })
    }

    fn credentials_path(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }

    pub fn transfers_dir(&self) -> PathBuf {
        self.dir.join("transfers")
    }

    fn ensure_dir(dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("create", dir, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    pub fn load_credentials(&self) -> Result<Credentials> {
        let path = self.credentials_path();
        match std::fs::read(&path) {
            Ok(raw) => serde_json::from_slice(&raw).map_err(|e| {
                CliError::local(format!("{} is not a livedrop credentials file: {e}", path.display()))
                    .hint("remove it and log in again")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(CliError::io("read", &path, &e)),
        }
    }

    pub fn save_credentials(&self, c: &Credentials) -> Result<()> {
        Self::ensure_dir(&self.dir)?;
        let raw = serde_json::to_vec_pretty(c).map_err(|e| CliError::failure(e.to_string()))?;
        write_private(&self.credentials_path(), &raw, true)
    }

    /// Reads a transfer's saved state; `None` if there is none or it is unreadable.
    pub fn load_state<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        let raw = std::fs::read(self.transfers_dir().join(format!("{key}.json"))).ok()?;
        serde_json::from_slice(&raw).ok()
    }

    pub fn save_state<T: Serialize>(&self, key: &str, state: &T) -> Result<()> {
        let dir = self.transfers_dir();
        Self::ensure_dir(&dir)?;
        let raw = serde_json::to_vec(state).map_err(|e| CliError::failure(e.to_string()))?;
        // Not synced: losing it to a crash only means starting over, and
        // an fsync on a busy disk can cost more than a small transfer.
        write_private(&dir.join(format!("{key}.json")), &raw, false)
    }

    pub fn remove_state(&self, key: &str) {
        let _ = std::fs::remove_file(self.transfers_dir().join(format!("{key}.json")));
    }
}

/// Writes a file only its owner may read, atomically (temp file + rename),
/// and with `durable`, synced to disk before it replaces the old one.
fn write_private(path: &Path, contents: &[u8], durable: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(|e| CliError::io("write", &tmp, &e))?;
    f.write_all(contents)
        .and_then(|_| if durable { f.sync_all() } else { Ok(()) })
        .map_err(|e| CliError::io("write", &tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| CliError::io("write", path, &e))?;
    Ok(())
}

/// Every login this person has, by server URL.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// The server commands talk to when `--server` is not given.
    #[serde(default)]
    pub default_server: Option<String>,
    #[serde(default)]
    pub servers: BTreeMap<String, Login>,
}

/// How the client proves who it is to one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Login {
    /// A personal API token of a self-hosted server: revocable, and never
    /// the password.
    ApiToken { email: String, user_id: String, token_id: String, token: String },
    /// A Firebase Auth login to a cloud deployment: the refresh token and
    /// the latest ID token (unix-seconds expiry), refreshed as they are
    /// used. `api_key` and `emulator` are the deployment's, as its
    /// `/api/config` said at login.
    Firebase {
        email: String,
        user_id: String,
        api_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emulator: Option<String>,
        refresh_token: String,
        id_token: String,
        expires_at: i64,
    },
}

impl Login {
    pub fn email(&self) -> &str {
        match self {
            Login::ApiToken { email, .. } | Login::Firebase { email, .. } => email,
        }
    }
}
