//! Google Cloud Storage V4 signed URLs (`GOOG4-RSA-SHA256`).
//!
//! A pure function of its inputs and the signing time, so that Google's
//! conformance vectors (`tests/gcs_v4_conformance.rs`) can check it byte for
//! byte. The scheme, step by step:
//!
//! 1. canonical request = method, path, sorted query (with the `X-Goog-*`
//!    parameters), canonical headers (lower-case names, values trimmed with
//!    inner whitespace collapsed, `host` always included), the signed header
//!    names, and the payload hash (`UNSIGNED-PAYLOAD` unless the request
//!    signs `x-goog-content-sha256`);
//! 2. string to sign = algorithm, time, credential scope, SHA-256 of (1);
//! 3. signature = RSA-SHA256 of (2) with the service account's key, in hex.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::cloud::service_account::ServiceAccount;
use crate::error::{Error, Result};

pub const ALGORITHM: &str = "GOOG4-RSA-SHA256";
/// GCS refuses V4 URLs that live longer than seven days.
pub const MAX_EXPIRES_SECS: u64 = 7 * 24 * 3600;
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// RFC 3986 unreserved characters stay; everything else is encoded. This is
/// the encoding of query keys and values (space is `%20`, never `+`).
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Object names keep their slashes: `a/b` is the path `/bucket/a/b`.
const OBJECT_PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Where the URL points: `scheme://host[:port]`, no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: String,
    /// `host` or `host:port`, as it appears in the URL.
    pub authority: String,
}

impl Endpoint {
    /// Accepts `https://storage.googleapis.com`, `http://127.0.0.1:9023`, or
    /// a bare `host[:port]` (then `default_scheme`). A trailing `/` is fine;
    /// any other path is refused, since signed paths start at the bucket.
    pub fn parse(s: &str, default_scheme: &str) -> Result<Self> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => (default_scheme.to_owned(), s),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let ok = matches!(scheme.as_str(), "http" | "https")
            && !authority.is_empty()
            && authority.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !ok {
            return Err(Error::internal(format!(
                "'{s}' is not a storage endpoint like https://storage.googleapis.com"
            )));
        }
        Ok(Self { scheme, authority: authority.to_owned() })
    }

    /// Google's production endpoint.
    pub fn google() -> Self {
        Self { scheme: "https".into(), authority: "storage.googleapis.com".into() }
    }

    /// `scheme://authority`
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The host without its port. The `host` that V4 signs carries no port:
    /// Google's vectors sign `localhost` for `http://localhost:8080` and
    /// `storage.googleapis.com` for `storage.googleapis.com:443`.
    fn host(&self) -> &str {
        strip_port(&self.authority)
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        // An IPv6 literal: `[::1]:8080`.
        return authority.split_once(']').map_or(authority, |(h, _)| &authority[..h.len() + 1]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// How the bucket appears in the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlStyle {
    /// `endpoint/bucket/object`: what livedrop issues, and the only style
    /// the emulator serves.
    PathStyle,
    /// `bucket.endpoint/object`
    VirtualHosted,
    /// `scheme://hostname/object` for a domain that is CNAMEd to the bucket.
    BucketBoundHostname { scheme: String, hostname: String },
}

/// What to sign.
#[derive(Debug, Clone)]
pub struct UrlRequest<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    /// `None` signs the bucket itself (e.g. a listing).
    pub object: Option<&'a str>,
    /// Headers the request must carry exactly (`host` is added).
    pub headers: &'a [(String, String)],
    /// Extra query parameters, signed with the rest.
    pub query: &'a [(String, String)],
    pub expires_in_secs: u64,
    pub style: &'a UrlStyle,
}

/// A signed URL with the intermediate strings, so that tests can say which
/// step differs.
#[derive(Debug, Clone)]
pub struct SignedUrl {
    pub url: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// Collapses runs of spaces and tabs to one space and trims the ends.
fn canonical_header_value(v: &str) -> String {
    v.split([' ', '\t']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `req` at `now` with `account`'s key.
pub fn sign_url(
    account: &ServiceAccount,
    endpoint: &Endpoint,
    req: &UrlRequest<'_>,
    now: Timestamp,
) -> Result<SignedUrl> {
    if req.expires_in_secs == 0 || req.expires_in_secs > MAX_EXPIRES_SECS {
        return Err(Error::internal(format!(
            "a V4 signed URL must live between 1 s and 7 days, not {} s",
            req.expires_in_secs
        )));
    }
    let object_path = req.object.map(|o| utf8_percent_encode(o, OBJECT_PATH).to_string());
    let (url_scheme, url_authority, sign_host, path) = match req.style {
        UrlStyle::PathStyle => (
            endpoint.scheme.as_str(),
            endpoint.authority.clone(),
            endpoint.host().to_owned(),
            match &object_path {
                Some(o) => format!("/{}/{o}", req.bucket),
                None => format!("/{}", req.bucket),
            },
        ),
        UrlStyle::VirtualHosted => (
            endpoint.scheme.as_str(),
            format!("{}.{}", req.bucket, endpoint.authority),
            format!("{}.{}", req.bucket, endpoint.host()),
            format!("/{}", object_path.as_deref().unwrap_or("")),
        ),
        UrlStyle::BucketBoundHostname { scheme, hostname } => (
            scheme.as_str(),
            hostname.clone(),
            strip_port(hostname).to_owned(),
            format!("/{}", object_path.as_deref().unwrap_or("")),
        ),
    };

    // Canonical headers, sorted by lower-case name; repeated names join
    // with commas as HTTP allows.
    let mut headers: Vec<(String, String)> =
        req.headers.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), canonical_header_value(v))).collect();
    if !headers.iter().any(|(k, _)| k == "host") {
        headers.push(("host".into(), sign_host));
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        match merged.last_mut() {
            Some((last, value)) if *last == k => {
                value.push(',');
                value.push_str(&v);
            }
            _ => merged.push((k, v)),
        }
    }
    let canonical_headers: String = merged.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = merged.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let payload = merged
        .iter()
        .find(|(k, _)| k == "x-goog-content-sha256")
        .map_or(UNSIGNED_PAYLOAD.to_owned(), |(_, v)| v.clone());

    let utc = now.to_zoned(TimeZone::UTC);
    let datetime = utc.strftime("%Y%m%dT%H%M%SZ").to_string();
    let scope = format!("{}/auto/storage/goog4_request", utc.strftime("%Y%m%d"));

    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (utf8_percent_encode(k, UNRESERVED).to_string(), utf8_percent_encode(v, UNRESERVED).to_string()))
        .collect();
    for (k, v) in [
        ("X-Goog-Algorithm", ALGORITHM.to_owned()),
        ("X-Goog-Credential", format!("{}/{scope}", account.client_email)),
        ("X-Goog-Date", datetime.clone()),
        ("X-Goog-Expires", req.expires_in_secs.to_string()),
        ("X-Goog-SignedHeaders", signed_headers.clone()),
    ] {
        query.push((k.to_owned(), utf8_percent_encode(&v, UNRESERVED).to_string()));
    }
    // Byte order of the encoded keys: `X-Goog-…` sorts before `prefix`.
    query.sort();
    let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");

    let canonical_request =
        [req.method, &path, &canonical_query, &canonical_headers, &signed_headers, &payload].join("\n");
    let string_to_sign = [ALGORITHM, &datetime, &scope, &hex(&Sha256::digest(canonical_request.as_bytes()))].join("\n");
    let signature = hex(&account.sign(string_to_sign.as_bytes())?);
    let url = format!("{url_scheme}://{url_authority}{path}?{canonical_query}&X-Goog-Signature={signature}");
    Ok(SignedUrl { url, canonical_request, string_to_sign })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_or_without_a_scheme() {
        assert_eq!(Endpoint::parse("https://storage.googleapis.com/", "https").unwrap(), Endpoint::google());
        let e = Endpoint::parse("127.0.0.1:9023", "http").unwrap();
        assert_eq!((e.scheme.as_str(), e.authority.as_str(), e.host()), ("http", "127.0.0.1:9023", "127.0.0.1"));
        assert_eq!(Endpoint::parse("http://[::1]:80", "http").unwrap().host(), "[::1]");
        for bad in ["", "ftp://x", "https://x/y", "https://a b"] {
            assert!(Endpoint::parse(bad, "https").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(canonical_header_value("\tabc\t\t\t\tdef\t"), "abc def");
        assert_eq!(canonical_header_value(" xyz ,  abc, def  , xyz   "), "xyz , abc, def , xyz");
    }
}
