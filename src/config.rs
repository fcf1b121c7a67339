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
    /// Failed sign-ins allowed from one client in 5 minutes, whichever
    /// accounts they try (password spraying); one account allows 10.
    pub sign_in_failures_per_client: u32,
    /// Proxies in front of the server whose `X-Forwarded-For` is believed
    /// (behind nginx on the same machine: `127.0.0.1`). Without any, the
    /// peer is the client, and the header is ignored: it is the client's to
    /// forge.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The secret that `GET /api/cron/sweep` wants as its bearer token
    /// (`CRON_SECRET`, the variable Vercel Cron Jobs send). Without one the
    /// route answers `not_found`: nobody can make the server sweep.
    pub cron_secret: Option<String>,
}

pub const GIB: u64 = 1 << 30;

impl Config {
    /// The defaults, with `LIVEDROP_SIGNUP` (`open`/`closed`),
    /// `LIVEDROP_QUOTA` and `LIVEDROP_MAX_FILE_SIZE` (sizes like `10GiB`)
    /// applied: how Vercel functions, which take no flags, are configured.
    pub fn from_env() -> Result<Self, crate::Error> {
        let mut c = Config::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let bad = |k: &str, e: String| crate::Error::internal(format!("{k}: {e}"));
        if let Some(v) = var("LIVEDROP_SIGNUP") {
            c.signup_open = match v.as_str() {
                "open" => true,
                "closed" => false,
                _ => return Err(bad("LIVEDROP_SIGNUP", "must be `open` or `closed`".into())),
            };
        }
        if let Some(v) = var("LIVEDROP_QUOTA") {
            c.quota_bytes = parse_size(&v).map_err(|e| bad("LIVEDROP_QUOTA", e))?;
        }
        if let Some(v) = var("LIVEDROP_MAX_FILE_SIZE") {
            c.max_file_size = parse_size(&v).map_err(|e| bad("LIVEDROP_MAX_FILE_SIZE", e))?;
        }
        if let Some(v) = var("LIVEDROP_PENDING_TTL") {
            c.pending_ttl = parse_duration(&v).map_err(|e| bad("LIVEDROP_PENDING_TTL", e))?;
        }
        c.cron_secret = cron_secret_from_env();
        Ok(c)
    }
}

/// `CRON_SECRET`, if it is set to something. Both deployments read the same
/// variable: Vercel sends it on every Cron Job call.
pub fn cron_secret_from_env() -> Option<String> {
    std::env::var("CRON_SECRET").ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `24h`, `90m`, `30s`, `0s` (jiff's friendly durations), not negative.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s.trim().parse().map_err(|_| format!("'{s}' is not a duration like 24h or 90m"))?;
    if d.is_negative() {
        return Err(format!("'{s}' is negative"));
    }
    Ok(d)
}

/// `123`, `64KiB`, `10MiB`, `5GiB`, `1TiB` (also KB/MB/GB/TB as powers of 1000).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("'{s}' is not a size like 10GiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("unknown unit '{other}' (use KiB, MiB, GiB or TiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large"))
}

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
            sign_in_failures_per_client: 50,
            trusted_proxies: vec![],
            cron_secret: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1XB").is_err());
        assert_eq!(super::parse_duration("24h"), Ok(jiff::SignedDuration::from_hours(24)));
        assert_eq!(super::parse_duration("0s"), Ok(jiff::SignedDuration::ZERO));
        assert!(super::parse_duration("-1h").is_err());
        assert!(super::parse_duration("soon").is_err());
    }
}
