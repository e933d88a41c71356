//! `leap0 cassette serve` and `leap0 cassette record`: a thin layer over
//! `leap0_replay::serve::Server`.

use std::io::Write;

use leap0_core::text::lines;
use leap0_replay::serve::{ServeError, ServeOptions, Server};
use leap0_replay::{Exhausted, RecordOptions, ReplayOptions, Replayer};
use leap0_ureq::UreqTransport;

use crate::args::{ExhaustedChoice, RecordArgs, ServeArgs};
use crate::output::Failure;

/// Prints the first two lines: the base URL (exactly `LEAP0_BASE_URL=...`)
/// and how to stop.
fn announce(server: &Server, stop: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "LEAP0_BASE_URL={}", server.base_url())
        .and_then(|()| writeln!(stdout, "{stop}"))
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::other("output", format!("cannot write to stdout: {e}")))
}

fn serve_failure(e: &ServeError) -> Failure {
    Failure::other("serve", lines(&e.to_string(), "  "))
}

fn wait(server: &Server) -> Result<(), Failure> {
    server
        .wait_for_signal()
        .map_err(|e| Failure::other("serve", format!("cannot wait for Ctrl-C or SIGTERM: {e}")))
}

/// `leap0 cassette serve FILE`.
pub(crate) fn serve(args: &ServeArgs) -> Result<(), Failure> {
    let options = ReplayOptions::default()
        .strict_order(args.strict_order)
        .allow_unused(args.allow_unused)
        .on_exhausted(match args.exhausted {
            ExhaustedChoice::Fail => Exhausted::Fail,
            ExhaustedChoice::RepeatLast => Exhausted::RepeatLast,
        })
        .rerecord_hint(format!(
            "re-record it with leap0 cassette record {} --upstream URL",
            args.file.display()
        ));
    // A cassette that does not load is the input's fault: exit 2, before binding.
    let replayer = Replayer::from_file(&args.file, options)
        .map_err(|e| Failure::usage(lines(&e.to_string(), "  "), None))?;
    let server = Server::replay(
        replayer,
        ServeOptions::default().host(args.host).port(args.port),
    )
    .map_err(|e| serve_failure(&e))?;
    announce(
        &server,
        "serving the cassette; Ctrl-C or SIGTERM to stop (GET /_leap0/verify, POST /_leap0/reset, GET /_leap0/journal)",
    )?;
    wait(&server)?;
    let report = server.verify_report();
    server.stop();
    eprintln!("{report}");
    if report.passed() {
        Ok(())
    } else {
        Err(Failure::other(
            "verify",
            "the cassette was not replayed exactly: see the report above (--allow-unused lets unused interactions pass)",
        ))
    }
}

/// Whether `upstream` is `https://`, or `http://` to loopback.
fn upstream_allowed(upstream: &leap0_core::http::Uri) -> bool {
    match upstream.scheme_str() {
        Some("https") => true,
        Some("http") => match upstream.host() {
            Some("localhost") => true,
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        },
        _ => false,
    }
}

/// `leap0 cassette record FILE --upstream URL`, with the global `--record-mode`
/// (else `LEAP0_RECORD`, else append).
pub(crate) fn record(
    args: &RecordArgs,
    allow_insecure_http: bool,
    record_mode: Option<&str>,
) -> Result<(), Failure> {
    let upstream: leap0_core::http::Uri = args.upstream.trim().parse().map_err(|_| {
        Failure::usage(
            format!(
                "--upstream {:?} is not a URL like http://127.0.0.1:8080",
                leap0_core::text::escape(&args.upstream)
            ),
            Some("upstream"),
        )
    })?;
    let insecure = allow_insecure_http
        || std::env::var("LEAP0_ALLOW_INSECURE_HTTP").is_ok_and(|v| v.trim() == "1");
    if !matches!(upstream.scheme_str(), Some("http" | "https")) || upstream.host().is_none() {
        return Err(Failure::usage(
            "--upstream must be an http:// or https:// URL",
            Some("upstream"),
        ));
    }
    if !insecure && !upstream_allowed(&upstream) {
        return Err(Failure::usage(
            "--upstream: plain http:// only to loopback (the API key would travel in clear text); add --allow-insecure-http to allow it",
            Some("upstream"),
        ));
    }
    let mode = crate::client::recording_mode(record_mode, "--record-mode", "record_mode")?;
    let transport = UreqTransport::new();
    let base = upstream.to_string();
    let server = Server::record(
        &args.file,
        mode,
        base.trim_end_matches('/'),
        transport,
        RecordOptions::new(),
        ServeOptions::default().host(args.host).port(args.port),
    )
    .map_err(|e| match e {
        ServeError::Cassette(_) | ServeError::Mode(_) => {
            Failure::usage(lines(&e.to_string(), "  "), None)
        }
        other => serve_failure(&other),
    })?;
    announce(
        &server,
        "recording through the proxy; Ctrl-C or SIGTERM to save and stop (POST /_leap0/save saves now)",
    )?;
    wait(&server)?;
    let saved = server.save();
    server.stop();
    match saved {
        Ok(count) => {
            eprintln!("saved {count} interaction(s) to {}", args.file.display());
            Ok(())
        }
        Err(e) => Err(serve_failure(&e)),
    }
}
