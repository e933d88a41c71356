//! `leap0 sandboxes pause` on both transports, the API's own spellings of
//! enumerated values, and listings that keep what a stale count leaves out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{against, code, emulator, json_of, text};
use serde_json::json;

#[test]
fn sandboxes_pause_prints_the_paused_sandbox_and_a_conflict_exits_1() {
    for transport in ["ureq", "hyper"] {
        let emu = emulator();
        let out = against(
            &emu,
            &[
                "--transport",
                transport,
                "sandboxes",
                "pause",
                "sb-seed-1",
                "--json",
            ],
        );
        assert_eq!(code(&out), 0, "{transport}: {}", text(&out.stderr));
        let sandbox = json_of(&out);
        assert_eq!(sandbox["id"], "sb-seed-1", "{transport}");
        assert_eq!(sandbox["state"], "paused", "{transport}");

        // Paused already: the API's 409, as the error kind.
        let out = against(
            &emu,
            &[
                "--transport",
                transport,
                "sandboxes",
                "pause",
                "sb-seed-1",
                "--json",
            ],
        );
        assert_eq!(code(&out), 1, "{transport}: {}", text(&out.stderr));
        let error = json_of(&out);
        assert_eq!(error["error"]["kind"], "conflict", "{transport}: {error}");
        assert_eq!(
            emu.request_count_for("POST", "/v1/sandbox/sb-seed-1/pause"),
            2
        );
    }
}

#[test]
fn the_apis_sort_spellings_send_the_same_request_as_the_cli_ones() {
    let emu = emulator();
    for sort in ["template_id", "template-id", "created_at", "created-at"] {
        let out = against(&emu, &["snapshots", "list", "--sort", sort, "--json"]);
        assert_eq!(code(&out), 0, "--sort {sort}: {}", text(&out.stderr));
    }
    let targets: Vec<String> = emu.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets.len(), 4);
    assert_eq!(targets[0], targets[1]);
    assert!(targets[0].contains("sort=template_id"), "{}", targets[0]);
    assert_eq!(targets[2], targets[3]);
    assert!(targets[2].contains("sort=created_at"), "{}", targets[2]);

    // Help shows one spelling.
    let help = text(&common::leap0(&["snapshots", "list", "-h"], &[]).stdout);
    assert!(
        help.contains("template-id") && !help.contains("template_id"),
        "{help}"
    );
}

#[test]
fn list_all_keeps_an_item_the_count_leaves_out() {
    use leap0_testkit::raw_server::{json_response, serve_many};
    // The vendor's own OpenAPI example: one snapshot, `total_items: 0`.
    let body = json!({"items": [{"id": "snap-1", "name": "warm"}], "total_items": 0}).to_string();
    let (addr, requests) = serve_many(move |_| json_response(200, &body));
    let url = format!("http://{addr}");
    for transport in ["ureq", "hyper"] {
        let out = common::leap0(
            &[
                "--api-key",
                common::KEY,
                "--base-url",
                &url,
                "--transport",
                transport,
                "snapshots",
                "list",
                "--all",
                "--json",
            ],
            &[],
        );
        assert_eq!(code(&out), 0, "{transport}: {}", text(&out.stderr));
        let list = json_of(&out);
        assert_eq!(list["items"][0]["id"], "snap-1", "{transport}: {list}");
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    }
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one page each"
    );
}
