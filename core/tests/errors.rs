//! The status dispatch: every status of the contract's error table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_core::error::FieldError;
use leap0_core::transport::TransportError;
use leap0_core::{ApiErrorKind, CreateSnapshot, DeleteSnapshot, Error, Exchange, ListSnapshots};

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

#[test]
fn each_status_maps_to_its_kind_and_retryability() {
    // (status, kind, retryable for POST, retryable for GET/DELETE)
    let table = [
        (400, ApiErrorKind::BadRequest, false, false),
        (401, ApiErrorKind::Unauthorized, false, false),
        (403, ApiErrorKind::PermissionDenied, false, false),
        (404, ApiErrorKind::NotFound, false, false),
        (409, ApiErrorKind::Conflict, false, false),
        (418, ApiErrorKind::UnexpectedStatus, false, false),
        (429, ApiErrorKind::RateLimited, true, true),
        (500, ApiErrorKind::Server, false, false),
        (502, ApiErrorKind::Server, false, true),
        (503, ApiErrorKind::Server, true, true),
        (504, ApiErrorKind::Server, false, true),
        (302, ApiErrorKind::UnexpectedStatus, false, false),
    ];
    for (status, kind, post_retry, get_retry) in table {
        let body = r#"{"message":"server says"}"#;
        let post = CreateSnapshot::new("sb-1")
            .parse(answer(status, &[], body))
            .unwrap_err();
        let api = post.api().unwrap();
        assert_eq!(api.kind, kind, "{status}");
        assert_eq!(api.status.as_u16(), status);
        assert_eq!(api.message.as_deref(), Some("server says"));
        assert_eq!(post.is_retryable(), post_retry, "POST {status}");
        assert!(post.may_have_reached_server());
        assert!(!post.is_usage());
        let get = ListSnapshots::default()
            .parse(answer(status, &[], body))
            .unwrap_err();
        assert_eq!(get.is_retryable(), get_retry, "GET {status}");
        let delete = DeleteSnapshot::new("s")
            .parse(answer(status, &[], body))
            .unwrap_err();
        assert_eq!(delete.is_retryable(), get_retry, "DELETE {status}");
    }
}

#[test]
fn bad_request_bodies_yield_field_errors() {
    let body = r#"{"message":"Invalid request","errors":[{"field":"timeout_min","error":"must be at most 480"},{"field":"name","error":"too long"}]}"#;
    let error = CreateSnapshot::new("sb-1")
        .parse(answer(400, &[("x-request-id", "req-42")], body))
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!(api.message.as_deref(), Some("Invalid request"));
    assert_eq!(
        api.field_errors,
        vec![
            FieldError::new("timeout_min", "must be at most 480"),
            FieldError::new("name", "too long"),
        ]
    );
    assert_eq!(api.request_id.as_deref(), Some("req-42"));
    assert_eq!(
        error.to_string(),
        "Failed to create snapshot: 400 Request failed: POST /v1/sandbox/sb-1/snapshot/create: \
         Invalid request; timeout_min: must be at most 480; name: too long (request id req-42)"
    );
}

#[test]
fn retry_after_as_seconds_or_http_date() {
    let secs = CreateSnapshot::new("sb")
        .parse(answer(429, &[("retry-after", "7")], "{}"))
        .unwrap_err();
    assert_eq!(
        secs.api().unwrap().retry_after,
        Some(Duration::from_secs(7))
    );

    // An HTTP-date is measured against the answer's own Date header.
    let dated = CreateSnapshot::new("sb")
        .parse(answer(
            503,
            &[
                ("retry-after", "Wed, 15 Jan 2025 10:30:30 GMT"),
                ("date", "Wed, 15 Jan 2025 10:30:00 GMT"),
            ],
            "{}",
        ))
        .unwrap_err();
    assert_eq!(
        dated.api().unwrap().retry_after,
        Some(Duration::from_secs(30))
    );

    // A date in the past means "now"; garbage and a date without Date are ignored.
    let past = CreateSnapshot::new("sb")
        .parse(answer(
            503,
            &[
                ("retry-after", "Wed, 15 Jan 2025 10:00:00 GMT"),
                ("date", "Wed, 15 Jan 2025 10:30:00 GMT"),
            ],
            "{}",
        ))
        .unwrap_err();
    assert_eq!(past.api().unwrap().retry_after, Some(Duration::ZERO));
    // More seconds than a u64 counts: the longest wait there is, not none.
    let huge = CreateSnapshot::new("sb")
        .parse(answer(
            429,
            &[("retry-after", "99999999999999999999999")],
            "{}",
        ))
        .unwrap_err();
    assert_eq!(
        huge.api().unwrap().retry_after,
        Some(Duration::from_secs(u64::MAX))
    );
    for headers in [
        vec![("retry-after", "soon")],
        vec![("retry-after", "Wed, 15 Jan 2025 10:30:30 GMT")],
        vec![("retry-after", "-3")],
        vec![("retry-after", "+3")],
        vec![("retry-after", "3.5")],
    ] {
        let e = CreateSnapshot::new("sb")
            .parse(answer(429, &headers, "{}"))
            .unwrap_err();
        assert_eq!(e.api().unwrap().retry_after, None, "{headers:?}");
    }
}

#[test]
fn text_bodies_become_the_message_and_long_ones_are_cut() {
    let e = DeleteSnapshot::new("snap")
        .parse(answer(409, &[], "  snapshot in use \n"))
        .unwrap_err();
    assert_eq!(e.api().unwrap().message.as_deref(), Some("snapshot in use"));
    let e = DeleteSnapshot::new("snap")
        .parse(answer(500, &[], &"x".repeat(10_000)))
        .unwrap_err();
    assert!(e.to_string().len() < 400, "{}", e.to_string().len());
    let e = DeleteSnapshot::new("snap")
        .parse(answer(500, &[], ""))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Failed to delete snapshot: 500 Request failed: DELETE /v1/snapshot/snap"
    );
}

#[test]
fn decode_errors_name_the_field_and_quote_the_body() {
    let e = CreateSnapshot::new("sb")
        .parse(answer(201, &[], r#"{"id":"","name":"x"}"#))
        .unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(d.field, "id");
    assert_eq!(d.reason, "must not be empty");
    assert!(d.excerpt.starts_with(r#"{"id":"""#));
    let e = CreateSnapshot::new("sb")
        .parse(answer(201, &[], "<html>oops</html>"))
        .unwrap_err();
    assert_eq!(e.field(), Some("body"));
    assert!(
        e.to_string()
            .starts_with("Failed to create snapshot: could not decode")
    );
}

#[test]
fn transport_errors_say_whether_the_request_left() {
    let op = CreateSnapshot::new("sb-1");
    let refused = op.transport_error(TransportError::connect("refused"));
    assert!(!refused.may_have_reached_server());
    assert!(
        refused.is_retryable(),
        "a POST that never left may be re-sent"
    );
    let timed_out = op.transport_error(TransportError::timeout("after 5s"));
    assert!(timed_out.may_have_reached_server());
    assert!(
        !timed_out.is_retryable(),
        "a POST that may have arrived is not re-sent"
    );
    assert_eq!(
        timed_out.to_string(),
        "Failed to create snapshot: POST /v1/sandbox/sb-1/snapshot/create: timeout error \
         (the request may have reached the server): after 5s"
    );
    let get_timeout = ListSnapshots::default().transport_error(TransportError::timeout("t"));
    assert!(get_timeout.is_retryable());
    let too_big = ListSnapshots::default().transport_error(TransportError::body_too_large(8));
    assert!(!too_big.is_retryable());
}
