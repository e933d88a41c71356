//! Hostile servers and faults through both transports: a listing that never
//! ends, a page that repeats, a delete whose answer comes too late.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use leap0_conformance::{API_KEY, AsyncEngine, Via};
use leap0_core::error::Limit;
use leap0_core::model::SnapshotList;
use leap0_core::transport::VirtualClock;
use leap0_core::{
    AsyncSnapshotsClient, Call, CallOutput, Config, Deletion, Error, ListSnapshots,
    PaginationLimits, RetryPolicy, SnapshotsClient,
};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_hyper::HyperTransport;
use leap0_testkit::raw_server::{json_response, serve_many};
use leap0_ureq::UreqTransport;

/// The page number a listing request asks for.
fn page_of(request: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(request);
    text.split(['?', '&', ' '])
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

/// A page of `size` snapshots whose ids come from `id`.
fn page(size: u64, total: u64, id: impl Fn(u64) -> String) -> Vec<u8> {
    let items: Vec<String> = (0..size)
        .map(|i| format!(r#"{{"id":"{}","name":"n{i}"}}"#, id(i)))
        .collect();
    json_response(
        200,
        &format!(r#"{{"items":[{}],"total_items":{total}}}"#, items.join(",")),
    )
}

fn config(addr: SocketAddr, limits: PaginationLimits) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(format!("http://{addr}"))
        .retry(RetryPolicy::none())
        .pagination(limits)
        .build()
        .unwrap()
}

fn list_all(via: Via, config: Config, listing: ListSnapshots) -> Result<SnapshotList, Error> {
    match via.call(config, Call::ListAllSnapshots(listing))? {
        CallOutput::List(list) => Ok(list),
        other => panic!("a listing gave {other:?}"),
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_server_claiming_a_trillion_snapshots_is_stopped_at_the_first_page() {
    for via in Via::ALL {
        let (addr, requests) = serve_many(|request| {
            let n = page_of(request);
            page(100, 1_000_000_000_000, |i| format!("snap-{n}-{i}"))
        });
        let before = rss_kib();
        let listing = ListSnapshots::default().page_size(100);
        let err = list_all(via, config(addr, PaginationLimits::default()), listing).unwrap_err();
        let grown_kib = rss_kib().saturating_sub(before);
        let Error::LimitReached {
            limit,
            pages,
            total_items,
            ..
        } = &err
        else {
            panic!("{via:?}: {err}")
        };
        assert_eq!(*limit, Limit::Items(100_000), "{via:?}");
        assert_eq!((*pages, *total_items), (1, 1_000_000_000_000));
        assert_eq!(requests.load(Ordering::SeqCst), 1, "{via:?}: one page only");
        assert!(grown_kib < 20 * 1024, "{via:?}: grew {grown_kib} KiB");
        let text = err.to_string();
        assert!(
            text.contains("PaginationLimits::new(max_pages, max_items)"),
            "{text}"
        );
        assert!(
            text.contains("1000000000000 items the server reports"),
            "{text}"
        );
    }
}

#[test]
fn endless_fresh_pages_stop_at_the_page_limit() {
    for via in Via::ALL {
        let (addr, requests) = serve_many(|request| {
            let n = page_of(request);
            page(100, 90_000, |i| format!("snap-{n}-{i}"))
        });
        let limits = PaginationLimits::new(30, 100_000);
        let listing = ListSnapshots::default().page_size(100);
        let err = list_all(via, config(addr, limits), listing).unwrap_err();
        let Error::LimitReached {
            limit,
            pages,
            items,
            ..
        } = &err
        else {
            panic!("{via:?}: {err}")
        };
        assert_eq!(
            (*limit, *pages, *items),
            (Limit::Pages(30), 30, 3000),
            "{via:?}"
        );
        assert_eq!(requests.load(Ordering::SeqCst), 30);
    }
}

#[test]
fn a_page_of_repeats_stops_the_walk_with_a_decode_error() {
    for via in Via::ALL {
        // Every page holds the same snapshots: the server is not advancing.
        let (addr, requests) = serve_many(|_| page(20, 1000, |i| format!("snap-{i}")));
        let err = list_all(
            via,
            config(addr, PaginationLimits::default()),
            ListSnapshots::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind_name(), "decode", "{via:?}: {err}");
        assert_eq!(err.field(), Some("items"));
        assert!(
            err.to_string()
                .contains("page 2 repeats only snapshots of earlier pages"),
            "{err}"
        );
        assert_eq!(requests.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn a_count_lower_than_the_pages_loses_no_item() {
    for via in Via::ALL {
        // The vendor's own OpenAPI example: one item, `total_items: 0`.
        let (addr, _) = serve_many(|_| page(1, 0, |i| format!("snap-{i}")));
        let list = list_all(
            via,
            config(addr, PaginationLimits::default()),
            ListSnapshots::default(),
        )
        .unwrap();
        assert_eq!((list.items.len(), list.total_items), (1, 1), "{via:?}");

        // A count read apart from the pages (30) while 45 snapshots exist:
        // every page is kept, and the short third page ends the walk.
        let (addr, requests) = serve_many(|request| {
            let n = page_of(request);
            page(if n < 3 { 20 } else { 5 }, 30, |i| format!("snap-{n}-{i}"))
        });
        let list = list_all(
            via,
            config(addr, PaginationLimits::default()),
            ListSnapshots::default(),
        )
        .unwrap();
        assert_eq!((list.items.len(), list.total_items), (45, 45), "{via:?}");
        assert_eq!(requests.load(Ordering::SeqCst), 3, "{via:?}");
    }
}

#[test]
fn endless_full_pages_past_a_stale_count_stop_at_the_page_limit() {
    for via in Via::ALL {
        let (addr, _) = serve_many(|request| {
            let n = page_of(request);
            page(20, 30, |i| format!("snap-{n}-{i}"))
        });
        let err = list_all(
            via,
            config(addr, PaginationLimits::new(5, 100_000)),
            ListSnapshots::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind_name(), "limit_reached", "{via:?}: {err}");
    }
}

/// The emulator deletes at once and answers after 1.5 s; the client gives up
/// after 300 ms and retries: the retry finds nothing to delete.
#[test]
fn a_delete_retried_after_a_timeout_reports_already_deleted() {
    for via in Via::ALL {
        let emulator = Emulator::start_with(EmulatorConfig::default().api_key(API_KEY)).unwrap();
        let config = Config::builder()
            .api_key(API_KEY)
            .base_url(emulator.base_url())
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let created =
            SnapshotsClient::new(config.clone(), UreqTransport::new(), VirtualClock::new())
                .create("sb-seed-1")
                .unwrap();
        emulator.inject(
            FaultRule::new(Fault::Delay(Duration::from_millis(1500)))
                .method("DELETE")
                .path_prefix("/v1/snapshot/"),
        );
        let deletion = match via {
            Via::Ureq => SnapshotsClient::new(config, UreqTransport::new(), VirtualClock::new())
                .delete(&created),
            Via::Hyper => AsyncEngine::new(AsyncSnapshotsClient::new(
                config,
                HyperTransport::new(),
                VirtualClock::new(),
            ))
            .block_on(|client| client.delete(&created)),
        };
        assert_eq!(deletion.unwrap(), Deletion::AlreadyDeleted, "{via:?}");
        assert_eq!(emulator.request_count_for("DELETE", "/v1/snapshot/"), 2);
        assert_eq!(emulator.snapshot_count(), 0);
    }
}

/// A first-attempt 404 is still "not found": only a retry after an attempt
/// that may have acted means "already deleted".
#[test]
fn a_plain_404_on_delete_is_still_not_found() {
    let emulator = Emulator::start_with(EmulatorConfig::default().api_key(API_KEY)).unwrap();
    let config = Config::builder()
        .api_key(API_KEY)
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    let err = SnapshotsClient::new(config, UreqTransport::new(), VirtualClock::new())
        .delete("snap-none")
        .unwrap_err();
    assert_eq!(err.kind_name(), "not_found");
    assert_eq!(emulator.request_count(), 1);
}
