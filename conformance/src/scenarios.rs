//! The scenario suite: every operation, success and each error status, retries
//! honouring Retry-After, pagination, waiting, and each fault kind.

use std::time::Duration;

use leap0_core::{
    CreateSandbox, CreateSnapshot, DeleteSnapshot, GetSandbox, ListSnapshots, OrderBy,
    PauseIntoSnapshot, RestoreSnapshot, ResumeSnapshot,
};
use leap0_emulator::{Fault, FaultRule};

use leap0_core::Call;

use crate::{Scenario, Step};

const SEED: &str = "sb-seed-1";

fn create(sandbox: &str, name: &str) -> Call {
    Call::CreateSnapshot(CreateSnapshot::new(sandbox).name(name))
}

fn list_all_asc(page_size: u64) -> Call {
    Call::ListAllSnapshots(
        ListSnapshots::default()
            .page_size(page_size)
            .order_by(OrderBy::Asc),
    )
}

fn status(code: u16) -> Fault {
    Fault::status(code)
}

fn on(fault: Fault, method: &str, prefix: &str) -> FaultRule {
    FaultRule::new(fault).method(method).path_prefix(prefix)
}

/// A snapshot's whole life: sandbox, snapshot, pause, resume, restore, list, delete.
pub fn lifecycle() -> Scenario {
    Scenario::new(
        "lifecycle",
        vec![
            Step::new(
                "create sandbox",
                Call::CreateSandbox(CreateSandbox::new("python")),
            ),
            Step::new(
                "wait running",
                Call::WaitUntilRunning(GetSandbox::new("sb-0001")),
            ),
            Step::new("create snapshot", create("sb-0001", "warm")),
            Step::new("duplicate name", create("sb-0001", " warm ")),
            Step::new(
                "pause",
                Call::PauseIntoSnapshot(PauseIntoSnapshot::new("sb-0001").name("paused")),
            ),
            Step::new(
                "status after pause",
                Call::GetSandbox(GetSandbox::new("sb-0001")),
            ),
            Step::new(
                "resume and wait",
                Call::ResumeAndWait(ResumeSnapshot::new("paused").timeout_min(30)),
            ),
            Step::new(
                "restore",
                Call::RestoreSnapshot(RestoreSnapshot::new("warm").timeout(600).auto_pause(true)),
            ),
            Step::new(
                "spare snapshot",
                Call::CreateSnapshot(CreateSnapshot::new("sb-0002")),
            ),
            Step::new("list", Call::ListSnapshots(ListSnapshots::default())),
            Step::new(
                "delete in use",
                Call::DeleteSnapshot(DeleteSnapshot::new("snap-0002")),
            ),
            Step::new(
                "delete spare",
                Call::DeleteSnapshot(DeleteSnapshot::new("snap-0003")),
            ),
            Step::new(
                "delete unknown",
                Call::DeleteSnapshot(DeleteSnapshot::new("snap-nope")),
            ),
            Step::new(
                "kill after snapshot",
                Call::CreateSnapshot(
                    CreateSnapshot::new("sb-0002")
                        .name("last")
                        .kill_sandbox_after(true),
                ),
            ),
            Step::new(
                "status after kill",
                Call::GetSandbox(GetSandbox::new("sb-0002")),
            ),
            Step::new("list after", Call::ListSnapshots(ListSnapshots::default())),
        ],
    )
}

/// Each error status, and which of them are retried.
pub fn errors() -> Scenario {
    let bad_request = Fault::Status {
        status: 400,
        retry_after: None,
        body: Some(
            r#"{"message":"Invalid request","errors":[{"field":"name","error":"is reserved"}]}"#
                .into(),
        ),
    };
    let ok_instead_of_created = Fault::Status {
        status: 200,
        retry_after: None,
        body: Some(r#"{"id":"snap-x","name":"x"}"#.into()),
    };
    Scenario::new(
        "errors",
        vec![
            Step::new("unknown sandbox", create("sb-missing", "a")),
            Step::new("bad request", create(SEED, "a")).fault(on(
                bad_request,
                "POST",
                "/v1/sandbox/",
            )),
            Step::new("forbidden", create(SEED, "a")).fault(on(
                status(403),
                "POST",
                "/v1/sandbox/",
            )),
            Step::new("server error", create(SEED, "a")).fault(on(
                status(500),
                "POST",
                "/v1/sandbox/",
            )),
            Step::new("bad gateway on post", create(SEED, "a")).fault(on(
                status(502),
                "POST",
                "/v1/sandbox/",
            )),
            Step::new(
                "bad gateway on get",
                Call::ListSnapshots(ListSnapshots::default()),
            )
            .fault(on(status(502), "GET", "/v1/snapshots")),
            Step::new("rate limited", create(SEED, "b")).fault(on(
                Fault::rate_limited("2"),
                "POST",
                "/v1/sandbox/",
            )),
            Step::new(
                "unavailable twice",
                Call::ResumeSnapshot(ResumeSnapshot::new("b")),
            )
            .fault(on(Fault::rate_limited("1"), "POST", "/v1/snapshot/resume"))
            .fault(on(status(503), "POST", "/v1/snapshot/resume")),
            Step::new(
                "gateway timeout on delete",
                Call::DeleteSnapshot(DeleteSnapshot::new("snap-0001")),
            )
            .fault(on(status(504), "DELETE", "/v1/snapshot/")),
            Step::new(
                "always unavailable",
                Call::ListSnapshots(ListSnapshots::default()),
            )
            .fault(on(status(503), "GET", "/v1/snapshots").times(10)),
            Step::new("wrong success status", create(SEED, "c")).fault(on(
                ok_instead_of_created,
                "POST",
                "/v1/sandbox/",
            )),
            Step::new("invalid name", create(SEED, "  ")),
            Step::new(
                "invalid policy",
                Call::ResumeSnapshot(
                    ResumeSnapshot::new("b").network_policy(
                        leap0_core::NetworkPolicy::new(leap0_core::NetworkMode::Custom)
                            .allow_cidrs(["10.0.0.0/33"]),
                    ),
                ),
            ),
        ],
    )
}

/// A client with the wrong key.
pub fn unauthorized() -> Scenario {
    Scenario {
        client_key: "sk-wrong-key",
        ..Scenario::new(
            "unauthorized",
            vec![Step::new(
                "list",
                Call::ListSnapshots(ListSnapshots::default()),
            )],
        )
    }
}

/// Each fault kind, on requests that may and may not be retried.
pub fn faults() -> Scenario {
    let slow = Fault::Delay(Duration::from_millis(1200));
    Scenario {
        timeout: Duration::from_millis(300),
        ..Scenario::new(
            "faults",
            vec![
                Step::new("timeout on post", create(SEED, "slow")).fault(on(
                    slow.clone(),
                    "POST",
                    "/v1/sandbox/",
                )),
                Step::new(
                    "timeout on get",
                    Call::ListSnapshots(ListSnapshots::default()),
                )
                .fault(on(slow, "GET", "/v1/snapshots")),
                Step::new("dropped post", create(SEED, "dropped")).fault(on(
                    Fault::DropConnection,
                    "POST",
                    "/v1/sandbox/",
                )),
                Step::new("dropped get", Call::GetSandbox(GetSandbox::new(SEED))).fault(on(
                    Fault::DropConnection,
                    "GET",
                    "/v1/sandbox/",
                )),
                Step::new("truncated post", create(SEED, "truncated")).fault(on(
                    Fault::TruncatedBody,
                    "POST",
                    "/v1/sandbox/",
                )),
                Step::new("malformed json", create(SEED, "malformed")).fault(on(
                    Fault::MalformedJson,
                    "POST",
                    "/v1/sandbox/",
                )),
                Step::new(
                    "oversize body",
                    Call::ListSnapshots(ListSnapshots::default()),
                )
                .fault(on(
                    Fault::OversizeBody {
                        bytes: 100 * 1024 * 1024,
                    },
                    "GET",
                    "/v1/snapshots",
                )),
                Step::new(
                    "after the faults",
                    Call::ListSnapshots(ListSnapshots::default()),
                ),
            ],
        )
    }
}

/// Five snapshots walked two at a time, with a hiccup on page two.
pub fn pagination() -> Scenario {
    let mut steps: Vec<Step> = ["p1", "p2", "p3", "p4", "p5"]
        .into_iter()
        .map(|name| Step::new("create", create(SEED, name)))
        .collect();
    steps.push(Step::new("list all", list_all_asc(2)).fault(on(
        Fault::rate_limited("3"),
        "GET",
        "/v1/snapshots?query=&sort=created_at&order-by=asc&page=2",
    )));
    steps.push(Step::new(
        "one page",
        Call::ListSnapshots(
            ListSnapshots::default()
                .page(3)
                .page_size(2)
                .order_by(OrderBy::Asc),
        ),
    ));
    Scenario::new("pagination", steps)
}

/// Resume and restore, then wait; and a wait that can never succeed.
pub fn waiting() -> Scenario {
    Scenario::new(
        "waiting",
        vec![
            Step::new("snapshot", create(SEED, "w")),
            Step::new(
                "resume and wait",
                Call::ResumeAndWait(ResumeSnapshot::new("w")),
            ),
            Step::new(
                "restore and wait",
                Call::RestoreAndWait(RestoreSnapshot::new("w").timeout(60)),
            ),
            Step::new(
                "pause it",
                Call::PauseIntoSnapshot(PauseIntoSnapshot::new("sb-0002")),
            ),
            Step::new(
                "wait for a stopped sandbox",
                Call::WaitUntilRunning(GetSandbox::new("sb-0002")),
            ),
            Step::new(
                "wait for a missing sandbox",
                Call::WaitUntilRunning(GetSandbox::new("sb-missing")),
            ),
        ],
    )
}

/// A patient client: minutes of Retry-After and polling (instant on a virtual
/// clock, and in replay).
pub fn patience() -> Scenario {
    Scenario::new(
        "patience",
        vec![
            Step::new("snapshot after two long waits", create(SEED, "patient"))
                .fault(on(Fault::rate_limited("120"), "POST", "/v1/sandbox/").times(2)),
            Step::new(
                "resume after a long wait, then poll",
                Call::ResumeAndWait(ResumeSnapshot::new("patient")),
            )
            .fault(on(Fault::rate_limited("90"), "POST", "/v1/snapshot/resume")),
        ],
    )
}

/// Every scenario, for suites that run them all (recording, replay).
pub fn all() -> Vec<Scenario> {
    vec![
        lifecycle(),
        errors(),
        unauthorized(),
        faults(),
        pagination(),
        waiting(),
        patience(),
    ]
}
