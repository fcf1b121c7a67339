//! Google's V4 signing conformance vectors against `cloud::gcs::v4`.
//!
//! `tests/data/gcs-v4/` holds Google's public vectors and the inactive
//! dummy key they were made with. Every case is run; a case that does not
//! apply to livedrop's signer is listed with the reason. The test fails if
//! any applicable case differs, naming the first step (canonical request,
//! string to sign, URL) that does.

use std::collections::BTreeMap;
use std::io::Write;

use jiff::Timestamp;
use livedrop::cloud::gcs::v4::{Endpoint, SignedUrl, UrlRequest, UrlStyle, sign_url};
use livedrop::cloud::service_account::ServiceAccount;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    signing_v4_tests: Vec<SigningCase>,
    post_policy_v4_tests: Vec<PostPolicyCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCase {
    description: String,
    bucket: String,
    object: Option<String>,
    method: String,
    expiration: u64,
    timestamp: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    query_parameters: BTreeMap<String, String>,
    scheme: Option<String>,
    url_style: Option<String>,
    bucket_bound_hostname: Option<String>,
    hostname: Option<String>,
    client_endpoint: Option<String>,
    emulator_hostname: Option<String>,
    universe_domain: Option<String>,
    expected_url: String,
    expected_canonical_request: String,
    expected_string_to_sign: String,
}

#[derive(Deserialize)]
struct PostPolicyCase {
    description: String,
}

/// Why a signing case does not apply, if it does not.
fn not_applicable(case: &SigningCase) -> Option<&'static str> {
    if case.universe_domain.is_some() && case.url_style.as_deref() == Some("VIRTUAL_HOSTED_STYLE") {
        // Its URL asks for `/test-object` on `test-bucket.storage.domain.com`
        // while its canonical request signs `/test-bucket/test-object`: the
        // signature describes another request than the URL sends. The case
        // "Virtual Hosted Style" signs `/test-object`, as GCS documents for
        // that style, and passes; no one signer can match both, and livedrop
        // issues only path-style URLs.
        return Some(
            "self-contradictory: the URL requests /test-object but the canonical request signs \
             /test-bucket/test-object (unlike 'Virtual Hosted Style', which passes); livedrop signs path-style only",
        );
    }
    None
}

/// The endpoint a client library would use, by the precedence the vectors
/// encode: an explicit hostname, then the client's endpoint, then the
/// emulator host, then the universe domain, then Google's default.
fn endpoint_for(case: &SigningCase) -> Endpoint {
    let scheme = case.scheme.as_deref().unwrap_or("https");
    let raw = if let Some(h) = &case.hostname {
        h.clone()
    } else if let Some(e) = &case.client_endpoint {
        e.clone()
    } else if let Some(e) = &case.emulator_hostname {
        e.clone()
    } else if let Some(u) = &case.universe_domain {
        format!("storage.{u}")
    } else {
        "storage.googleapis.com".into()
    };
    Endpoint::parse(&raw, scheme).expect("vector endpoints parse")
}

fn style_for(case: &SigningCase) -> UrlStyle {
    match case.url_style.as_deref() {
        Some("VIRTUAL_HOSTED_STYLE") => UrlStyle::VirtualHosted,
        Some("BUCKET_BOUND_HOSTNAME") => UrlStyle::BucketBoundHostname {
            scheme: case.scheme.clone().unwrap_or_else(|| "https".into()),
            hostname: case.bucket_bound_hostname.clone().expect("bucket-bound cases name a hostname"),
        },
        None | Some("PATH_STYLE") => UrlStyle::PathStyle,
        Some(other) => panic!("unknown urlStyle {other}"),
    }
}

/// Signs a case as its fields describe, at its timestamp.
fn sign_case(account: &ServiceAccount, case: &SigningCase) -> Result<SignedUrl, String> {
    let headers: Vec<(String, String)> = case.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let query: Vec<(String, String)> = case.query_parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let style = style_for(case);
    let req = UrlRequest {
        method: &case.method,
        bucket: &case.bucket,
        object: case.object.as_deref(),
        headers: &headers,
        query: &query,
        expires_in_secs: case.expiration,
        style: &style,
    };
    let now: Timestamp = case.timestamp.parse().map_err(|e| format!("bad timestamp: {e}"))?;
    sign_url(account, &endpoint_for(case), &req, now).map_err(|e| format!("signing failed: {e}"))
}

/// `Ok(())` or the first step that differs.
fn run(account: &ServiceAccount, case: &SigningCase) -> Result<(), String> {
    let signed = sign_case(account, case)?;
    let diff = |step: &str, want: &str, got: &str| Err(format!("{step} differs\n  want {want:?}\n  got  {got:?}"));
    if signed.canonical_request != case.expected_canonical_request {
        return diff("canonical request", &case.expected_canonical_request, &signed.canonical_request);
    }
    if signed.string_to_sign != case.expected_string_to_sign {
        return diff("string to sign", &case.expected_string_to_sign, &signed.string_to_sign);
    }
    if signed.url != case.expected_url {
        return diff("URL", &case.expected_url, &signed.url);
    }
    Ok(())
}

/// What signing a not-applicable case anyway shows: whether the URL (up to
/// its signature) matches, and the canonical paths, ours and the vector's.
fn evidence(account: &ServiceAccount, case: &SigningCase) -> String {
    let signed = match sign_case(account, case) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let unsigned = |url: &str| url.split("&X-Goog-Signature=").next().unwrap_or("").to_owned();
    let path = |canonical: &str| canonical.lines().nth(1).unwrap_or("").to_owned();
    format!(
        "signed anyway: URL before its signature {}; canonical path ours {}, the vector's {}",
        if unsigned(&signed.url) == unsigned(&case.expected_url) { "matches" } else { "differs" },
        path(&signed.canonical_request),
        path(&case.expected_canonical_request)
    )
}

#[test]
fn signer_reproduces_every_applicable_google_v4_vector() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gcs-v4");
    let account = ServiceAccount::from_file(&dir.join("test_service_account.not-a-test.json")).unwrap();
    let vectors: Vectors =
        serde_json::from_str(&std::fs::read_to_string(dir.join("v4_signatures.json")).unwrap()).unwrap();

    let mut report = String::new();
    let (mut passed, mut failed, mut skipped) = (0, vec![], vec![]);
    for case in &vectors.signing_v4_tests {
        if let Some(why) = not_applicable(case) {
            skipped.push(format!("signing '{}': {why} [{}]", case.description, evidence(&account, case)));
            continue;
        }
        match run(&account, case) {
            Ok(()) => passed += 1,
            Err(why) => failed.push(format!("signing '{}': {why}", case.description)),
        }
    }
    for case in &vectors.post_policy_v4_tests {
        skipped.push(format!(
            "post policy '{}': POST policy documents sign HTML form uploads, which livedrop never issues \
             (uploads are a signed PUT or a signed resumable POST)",
            case.description
        ));
    }
    let total = vectors.signing_v4_tests.len() + vectors.post_policy_v4_tests.len();
    report.push_str(&format!(
        "GCS V4 conformance: {total} cases, {} applicable: {passed} passed, {} failed; {} not applicable\n",
        passed + failed.len(),
        failed.len(),
        skipped.len()
    ));
    for s in &skipped {
        report.push_str(&format!("  not applicable: {s}\n"));
    }
    for f in &failed {
        report.push_str(&format!("  FAILED: {f}\n"));
    }
    // Straight to the process's stdout, past libtest's capture, so that the
    // figures show in every run and not only in failing ones.
    std::io::stdout().lock().write_all(report.as_bytes()).unwrap();
    assert!(failed.is_empty(), "{} applicable vector(s) failed:\n{report}", failed.len());
    assert!(passed > 0, "no vector ran");
}
