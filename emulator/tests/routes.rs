//! The emulator's router and the core's route table agree: every route of the core is
//! served, with the same success status, and the emulator serves nothing else but the
//! routes listed here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use leap0_emulator::Emulator;
use serde_json::json;

/// Routes the emulator serves that the core's table does not have (method, template).
const EMULATOR_ONLY: [(&str, &str); 0] = [];

/// A sample value for a path parameter.
fn sample(param: &str) -> &'static str {
    match param {
        "sandbox_id" => "sb-seed-1",
        "snapshot_id" => "snap-0001",
        other => panic!("no sample for the parameter {other}"),
    }
}

/// `template` with its parameters filled in, encoded by the core.
fn path(route: &leap0_core::route::Route) -> String {
    let values: Vec<&str> = route.params().map(sample).collect();
    route.path(&values).unwrap()
}

/// Asserts the emulator has a route for `method` and `path`: its answer is neither its
/// 404 "route not found" nor a 405.
fn assert_served(addr: SocketAddr, method: &str, path: &str) {
    let body = (method == "POST").then(|| json!({}));
    let resp = client::api(addr, method, path, body.as_ref());
    assert_ne!(resp.status, 405, "{method} {path}: {}", resp.text());
    let unrouted = resp.status == 404 && resp.json() == json!({"message": "route not found"});
    assert!(!unrouted, "{method} {path} is not routed");
}

#[test]
fn every_core_route_is_served() {
    let emulator = Emulator::start().unwrap();
    for route in &leap0_core::route::ROUTES {
        assert_served(emulator.addr(), route.method.as_str(), &path(route));
    }
    for (method, template) in EMULATOR_ONLY {
        let path = template.replace("{sandbox_id}", sample("sandbox_id"));
        assert_served(emulator.addr(), method, &path);
    }
}

#[test]
fn the_emulator_serves_the_core_routes_and_the_listed_extras_only() {
    let core: BTreeSet<(String, &str, u16)> = leap0_core::route::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.template, r.success.as_u16()))
        .collect();
    let served: BTreeSet<(String, &str, u16)> = leap0_emulator::ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.template, r.success))
        .collect();
    let extras: BTreeSet<(String, &str)> = served
        .difference(&core)
        .map(|(m, t, _)| (m.clone(), *t))
        .collect();
    let listed: BTreeSet<(String, &str)> = EMULATOR_ONLY
        .iter()
        .map(|(m, t)| ((*m).to_owned(), *t))
        .collect();
    assert!(
        core.is_subset(&served),
        "the core's routes the emulator lacks (or answers with another status): {:?}",
        core.difference(&served).collect::<Vec<_>>()
    );
    assert_eq!(extras, listed, "the emulator's routes beyond the core's");
}

#[test]
fn an_unlisted_route_is_not_served() {
    // The check above can fail: a route that neither table has is unrouted.
    let emulator = Emulator::start().unwrap();
    let resp = client::api(emulator.addr(), "POST", "/v1/sandbox/sb-seed-1/stop", None);
    assert_eq!(
        (resp.status, resp.json()),
        (404, json!({"message": "route not found"}))
    );
}
