//! `leap0 sandboxes pause` on both transports, and the API's own spellings of
//! enumerated values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{against, code, emulator, json_of, text};

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
