//! Any `Retry-After` and `Date` on a 429 or 503: the delay is what the header
//! says (whole seconds, saturating; or an HTTP-date against `Date`), and a
//! retrying machine waits exactly that long, or gives up at once when the wait
//! would pass its total deadline.
#![no_main]

use std::time::Duration;

use arbitrary::Unstructured;
use http::{HeaderValue, StatusCode};
use leap0_core::machine::{Action, Machine, Retry};
use leap0_core::{Config, CreateSnapshot, Error, Exchange, ListSnapshots, RetryPolicy, Timestamp};
use libfuzzer_sys::fuzz_target;

/// What the header says, read independently of the core.
fn expected(retry_after: Option<&str>, date: Option<&str>) -> Option<Duration> {
    let value = retry_after?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = httpdate::parse_http_date(date?.trim()).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let status = *u.choose(&[429u16, 503])?;
    let retry_after = leap0_fuzz::header_value(u)?;
    let date = leap0_fuzz::header_value(u)?;
    let start = Timestamp::from_origin(Duration::from_secs(u.int_in_range(0..=u32::MAX.into())?));
    let deadline: Option<u32> = u.arbitrary()?;
    let post: bool = u.arbitrary()?;

    let mut answer = http::Response::new(br#"{"message":"busy"}"#.to_vec());
    *answer.status_mut() =
        StatusCode::from_u16(status).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let (retry_after, date) = (
        HeaderValue::from_bytes(&retry_after).ok(),
        HeaderValue::from_bytes(&date).ok(),
    );
    for (name, value) in [("retry-after", &retry_after), ("date", &date)] {
        if let Some(value) = value {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    let text =
        |v: &Option<HeaderValue>| v.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (retry_text, date_text) = (text(&retry_after), text(&date));

    let total = deadline.map(|s| Duration::from_secs(s.into()));
    let policy = RetryPolicy::default().with_total_deadline(total);
    let config = Config::new("sk-fuzz-key")
        .expect("a valid key")
        .with_retry(policy);
    let (delay, mut machine): (_, Box<dyn Machine<Output = ()>>) = if post {
        let op = CreateSnapshot::new("sb-1");
        let error = op
            .parse(answer.clone())
            .expect_err("429 and 503 are errors");
        let delay = error.api().expect("an API error").retry_after;
        (
            delay,
            Box::new(leap0_core::machine::Map::new(Retry::new(op, &config), drop)),
        )
    } else {
        let op = ListSnapshots::default();
        let error = op
            .parse(answer.clone())
            .expect_err("429 and 503 are errors");
        let delay = error.api().expect("an API error").retry_after;
        (
            delay,
            Box::new(leap0_core::machine::Map::new(Retry::new(op, &config), drop)),
        )
    };
    assert_eq!(
        delay,
        expected(retry_text.as_deref(), date_text.as_deref()),
        "{retry_text:?} {date_text:?}"
    );

    assert!(matches!(machine.poll(start), Action::Send(_)));
    machine.handle_response(start, answer);
    let deadline = total.map(|d| start + d);
    match machine.poll(start) {
        Action::Send(_) => assert!(delay == Some(Duration::ZERO) || delay.is_none()),
        Action::WaitUntil(t) => {
            if let Some(d) = delay {
                assert_eq!(t, start + d);
            }
            assert!(deadline.is_none_or(|dl| t < dl));
        }
        Action::Done(Err(Error::DeadlineExceeded { last, .. })) => {
            let resume = start + last.api().and_then(|a| a.retry_after).unwrap_or_default();
            assert!(delay.is_none() || deadline.is_some_and(|dl| resume >= dl));
        }
        other => panic!("unexpected {other:?} for {delay:?}"),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
