//! `openapi.json` and the router describe the same API: the same paths,
//! and on each path the same methods.

mod common;

use std::collections::BTreeSet;

use common::TestServer;
use livedrop::http::{OPENAPI, api_routes};
use reqwest::Method;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn spec() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

fn concrete(path: &str) -> String {
    // Any value will do for a path parameter: the route must still match.
    path.replace("{id}", "abc").replace("{token}", "abc").replace("{email}", "a@b.c")
}

#[test]
fn the_spec_and_the_router_have_the_same_paths() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let in_spec: BTreeSet<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    let in_router: BTreeSet<String> = api_routes().into_iter().map(|(p, _)| p.to_owned()).collect();
    assert_eq!(in_spec, in_router);
}

#[tokio::test]
async fn every_operation_reaches_a_handler_and_no_other_method_does() {
    let server = TestServer::start().await;
    let client = server.anonymous();
    let spec = spec();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = common::Client::send(
                client.request(m, &concrete(path)).header("content-type", "application/json").body("{}"),
            )
            .await;
            if ops.get(method).is_some() {
                assert_ne!(resp.status, 405, "{method} {path} is in the spec but not routed");
                assert!(!resp.body["error"]["message"].as_str().unwrap_or("").contains("API route"), "{method} {path}");
                checked += 1;
            } else {
                assert_eq!(resp.status, 405, "{method} {path} is routed but not in the spec");
            }
        }
    }
    assert_eq!(checked, 49, "operations in the spec");
    let served: Value = client.get("/api/openapi.json").await.body;
    assert_eq!(served, spec, "the served document is the kept one");
    client.get("/api/nothing/here").await.expect_error(404, "not_found");
}
