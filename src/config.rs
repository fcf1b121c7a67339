//! Settings of the service, whatever serves it.

use jiff::SignedDuration;

/// Limits and policies. `livedrop serve` fills it from flags and
/// `LIVEDROP_*` variables (see `main.rs` and `.env.example`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Whether anyone may create an account (self-hosted).
    pub signup_open: bool,
    /// Bytes each person may store, pending uploads included.
    pub quota_bytes: u64,
    /// The largest single file.
    pub max_file_size: u64,
    /// Files larger than this upload through a resumable session.
    pub resumable_threshold: u64,
    /// How long a signed upload URL (single `PUT`, or session start) works.
    pub upload_url_ttl: SignedDuration,
    /// How long a signed download URL works.
    pub download_url_ttl: SignedDuration,
    /// Pending uploads older than this are swept with their bytes.
    pub pending_ttl: SignedDuration,
    /// Mark cookies `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
}

pub const GIB: u64 = 1 << 30;

impl Default for Config {
    fn default() -> Self {
        Self {
            signup_open: true,
            quota_bytes: 500 * GIB,
            max_file_size: 100 * GIB,
            resumable_threshold: 8 << 20,
            upload_url_ttl: SignedDuration::from_hours(1),
            download_url_ttl: SignedDuration::from_mins(5),
            pending_ttl: SignedDuration::from_hours(24),
            secure_cookies: false,
        }
    }
}
