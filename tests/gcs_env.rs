//! `GcsConfig::from_env`: which endpoint, which key, emulator or not.
//!
//! Alone in its own test binary: it changes the process environment, which
//! tests running in parallel threads of one binary must not see change.

use livedrop::cloud::gcs::GcsConfig;
use livedrop::cloud::gcs::v4::Endpoint;

fn set(vars: &[(&str, Option<&str>)]) {
    for (k, v) in vars {
        // SAFETY: the only test in this binary, so no other thread reads the
        // environment while it changes.
        unsafe {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    }
}

#[test]
fn the_environment_chooses_bucket_endpoint_key_and_emulator_mode() {
    let key_file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gcs-v4/test_service_account.not-a-test.json");
    set(&[
        ("LIVEDROP_GCS_BUCKET", None),
        ("STORAGE_EMULATOR_HOST", None),
        ("LIVEDROP_GCS_ENDPOINT", None),
        ("LIVEDROP_SERVICE_ACCOUNT_JSON", None),
        ("GOOGLE_APPLICATION_CREDENTIALS", None),
    ]);
    let err = GcsConfig::from_env().unwrap_err();
    assert!(format!("{:?}", err).contains("LIVEDROP_GCS_BUCKET"), "{err:?}");

    // Production without a key: refused with what to set.
    set(&[("LIVEDROP_GCS_BUCKET", Some("demo.firebasestorage.app"))]);
    let err = GcsConfig::from_env().unwrap_err();
    assert!(format!("{:?}", err).contains("GOOGLE_APPLICATION_CREDENTIALS"), "{err:?}");

    // Production with a key file: Google's endpoint, credentials on calls.
    set(&[("GOOGLE_APPLICATION_CREDENTIALS", Some(key_file))]);
    let c = GcsConfig::from_env().unwrap();
    assert_eq!((c.bucket.as_str(), &c.endpoint, c.emulator), ("demo.firebasestorage.app", &Endpoint::google(), false));
    assert_eq!(c.account.client_email, "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");

    // The key's JSON in a variable wins over the file (Vercel has no files).
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(key_file).unwrap()).unwrap();
    json["client_email"] = "inline@dummy-project-id.iam.gserviceaccount.com".into();
    set(&[
        ("LIVEDROP_SERVICE_ACCOUNT_JSON", Some(&json.to_string())),
        ("LIVEDROP_GCS_ENDPOINT", Some("https://storage.example.com")),
    ]);
    let c = GcsConfig::from_env().unwrap();
    assert_eq!(c.account.client_email, "inline@dummy-project-id.iam.gserviceaccount.com");
    assert_eq!(c.endpoint.base_url(), "https://storage.example.com");

    // The emulator: its host is the endpoint (http by default), and no key
    // is needed.
    set(&[
        ("LIVEDROP_SERVICE_ACCOUNT_JSON", None),
        ("GOOGLE_APPLICATION_CREDENTIALS", None),
        ("STORAGE_EMULATOR_HOST", Some("127.0.0.1:9023")),
    ]);
    let c = GcsConfig::from_env().unwrap();
    assert!(c.emulator);
    assert_eq!(c.endpoint.base_url(), "http://127.0.0.1:9023");
    set(&[("STORAGE_EMULATOR_HOST", Some("http://localhost:4443/"))]);
    assert_eq!(GcsConfig::from_env().unwrap().endpoint.base_url(), "http://localhost:4443");
}
