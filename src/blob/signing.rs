//! Signed URLs for the self-hosted blob endpoint: HMAC-SHA256 with a server
//! secret over the method, the path and every query parameter, with an
//! expiry. The cloud store signs with Google's V4 scheme instead.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Unreserved characters of RFC 3986 stay as they are; everything else is
/// percent-encoded, so that the canonical form is unambiguous.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub const SIGNATURE_PARAM: &str = "sig";
pub const EXPIRES_PARAM: &str = "expires";

#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

fn canonical_query(params: &mut [(String, String)]) -> String {
    params.sort();
    params
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, method: &str, path: &str, canonical: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(canonical.as_bytes());
        mac
    }

    /// `path?params&expires=..&sig=..`
    pub fn sign(&self, method: &str, path: &str, params: &[(&str, String)], expires: Timestamp) -> String {
        let mut all: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        all.push((EXPIRES_PARAM.into(), expires.as_second().to_string()));
        let canonical = canonical_query(&mut all);
        let sig = hex(&self.mac(method, path, &canonical).finalize().into_bytes());
        format!("{path}?{canonical}&{SIGNATURE_PARAM}={sig}")
    }

    /// Checks a request's signature and expiry; returns its parameters
    /// (without the signature).
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        raw_query: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<(String, String)>> {
        let mut params = Vec::new();
        let mut sig = None;
        for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode_str(k).decode_utf8().map_err(|_| Error::SignatureInvalid)?.into_owned();
            let v = percent_decode_str(v).decode_utf8().map_err(|_| Error::SignatureInvalid)?.into_owned();
            if k == SIGNATURE_PARAM {
                if sig.replace(v).is_some() {
                    return Err(Error::SignatureInvalid);
                }
            } else {
                params.push((k, v));
            }
        }
        let sig = sig.ok_or(Error::SignatureInvalid)?;
        let sig = unhex(&sig).ok_or(Error::SignatureInvalid)?;
        let canonical = canonical_query(&mut params);
        self.mac(method, path, &canonical).verify_slice(&sig).map_err(|_| Error::SignatureInvalid)?;
        // Only a genuine URL gets to learn that it has expired.
        let expires =
            param(&params, EXPIRES_PARAM).and_then(|e| e.parse::<i64>().ok()).ok_or(Error::SignatureInvalid)?;
        if now.as_second() >= expires {
            return Err(Error::SignatureExpired);
        }
        Ok(params)
    }
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (&str, &str) {
        url.split_once('?').unwrap()
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let s = Signer::new([7; 32]);
        let now = Timestamp::from_second(1_000_000).unwrap();
        let url = s.sign("GET", "/blob/abc", &[("name", "a b/é".into())], now + jiff::SignedDuration::from_secs(60));
        let (path, q) = split(&url);
        let params = s.verify("GET", path, Some(q), now).unwrap();
        assert_eq!(param(&params, "name"), Some("a b/é"));
        let later = now + jiff::SignedDuration::from_secs(61);
        assert!(matches!(s.verify("GET", path, Some(q), later), Err(Error::SignatureExpired)));
    }

    #[test]
    fn tampering_with_anything_breaks_the_signature() {
        let s = Signer::new([7; 32]);
        let now = Timestamp::from_second(1_000_000).unwrap();
        let url = s.sign("PUT", "/blob/abc", &[("size", "10".into())], now + jiff::SignedDuration::from_secs(60));
        let (path, q) = split(&url);
        let bad = |m: &str, p: &str, q: &str| matches!(s.verify(m, p, Some(q), now), Err(Error::SignatureInvalid));
        assert!(bad("GET", path, q), "method");
        assert!(bad("PUT", "/blob/abd", q), "path");
        assert!(bad("PUT", path, &q.replace("size=10", "size=11")), "param");
        assert!(bad("PUT", path, &format!("{q}&extra=1")), "added param");
        assert!(bad("PUT", path, &q.replace("&sig=", "&sig=00")), "signature");
        assert!(bad("PUT", path, "size=10"), "no signature");
        assert!(Signer::new([8; 32]).verify("PUT", path, Some(q), now).is_err(), "other key");
    }
}
