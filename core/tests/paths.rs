//! No id can change the route: ids are one percent-encoded path segment, and the
//! ids that some proxies would resolve anyway are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_core::{
    Config, CreateSnapshot, DeleteSnapshot, Error, Exchange, GetSandbox, PauseIntoSnapshot,
};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

fn config() -> Config {
    Config::builder()
        .api_key("k")
        .base_url("https://api.example.com/prefix/")
        .build()
        .unwrap()
}

/// The path segments of each route built with `id`, and the position of the id.
fn built_paths(id: &str) -> Vec<(http::Uri, usize, usize)> {
    let c = config();
    vec![
        (
            CreateSnapshot::new(id).request(&c).unwrap().uri().clone(),
            3,
            6,
        ),
        (
            PauseIntoSnapshot::new(id)
                .request(&c)
                .unwrap()
                .uri()
                .clone(),
            3,
            6,
        ),
        (
            DeleteSnapshot::new(id).request(&c).unwrap().uri().clone(),
            3,
            4,
        ),
        (GetSandbox::new(id).request(&c).unwrap().uri().clone(), 3, 5),
    ]
}

fn check_id(id: &str) {
    for (uri, at, count) in built_paths(id) {
        assert_eq!(uri.host(), Some("api.example.com"));
        assert_eq!(uri.query(), None, "{id:?} added a query: {uri}");
        let segments: Vec<&str> = uri.path().split('/').skip(1).collect();
        assert_eq!(segments.len(), count, "{id:?} changed the route: {uri}");
        assert_eq!(segments[0], "prefix");
        assert_eq!(segments[1], "v1");
        let decoded = percent_decode_str(segments[at]).decode_utf8().unwrap();
        assert_eq!(decoded, id, "{uri}");
        assert!(!uri.to_string().contains('#'));
    }
}

#[test]
fn hostile_ids_stay_in_their_segment() {
    for id in [
        "a/b",
        "a?b=c",
        "a#frag",
        "100%",
        "a b",
        "../../v1/snapshots",
        "..%2F",
        "é",
        "sb/..",
        "%2e%2e",
        "./",
        "a\u{0}b",
        "\\..\\",
        "sb_0123456789abcdef",
    ] {
        check_id(id);
    }
    let uri = DeleteSnapshot::new("a/b?c#d%e f..é")
        .request(&config())
        .unwrap();
    assert_eq!(
        uri.uri().path(),
        "/prefix/v1/snapshot/a%2Fb%3Fc%23d%25e%20f..%C3%A9"
    );
}

#[test]
fn empty_dot_and_dot_dot_ids_are_refused() {
    for id in ["", " ", ".", ".."] {
        let Err(Error::Validation { field, .. }) = DeleteSnapshot::new(id).request(&config())
        else {
            panic!("{id:?} was accepted")
        };
        assert_eq!(field, "snapshot_id");
        assert!(matches!(
            CreateSnapshot::new(id).request(&config()),
            Err(Error::Validation { .. })
        ));
    }
}

proptest! {
    #[test]
    fn any_id_is_one_segment(id in "\\PC{1,40}") {
        prop_assume!(!id.trim().is_empty() && id != "." && id != "..");
        check_id(&id);
    }

    #[test]
    fn any_bytes_as_a_response_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let response = http::Response::builder().status(status).body(body).unwrap();
        let _ = CreateSnapshot::new("sb").parse(response);
    }
}
