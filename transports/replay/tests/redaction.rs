//! One redaction rule and one placeholder: what the recorder keeps out of a
//! cassette, and a check of the workspace's sources that the placeholder is
//! spelled out in one place only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use leap0_core::transport::{REDACTED, Request, Response, Transport, TransportError, VirtualClock};
use leap0_core::{Config, SnapshotsClient};
use leap0_replay::{RecordOptions, Recorder, ReplayOptions, Replayer};

/// What the fake server hands out in headers; no option names it.
const SECRET: &str = "SECRET-XYZ";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "leap0-replay-redaction-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server that answers every request with credentials in its headers.
fn leaky_server(_req: Request, _timeout: Duration) -> Result<Response, TransportError> {
    Ok(http::Response::builder()
        .status(204)
        .header("x-session-token", SECRET)
        .header("x-auth-token", format!("Bearer {SECRET}"))
        .header("set-cookie", format!("sid={SECRET}; HttpOnly"))
        .header("x-request-id", "req-1")
        .body(Vec::new())
        .unwrap())
}

#[test]
fn sensitive_headers_never_reach_the_cassette() {
    let recorder = Recorder::new(leaky_server, RecordOptions::new().secret("sk-test-key"));
    let config = Config::new("sk-test-key").unwrap();
    let client = SnapshotsClient::new(config.clone(), recorder.clone(), VirtualClock::new());
    client.delete("snap-1").unwrap();
    // A request carrying such headers itself, sent through the recorder as is.
    let request = http::Request::builder()
        .method("DELETE")
        .uri("https://api.leap0.dev/v1/snapshot/snap-2")
        .header("x-session-token", SECRET)
        .header("cookie", format!("sid={SECRET}"))
        .header("proxy-authorization", format!("Basic {SECRET}"))
        .body(Vec::new())
        .unwrap();
    Transport::send(&recorder, request, Duration::from_secs(1)).unwrap();

    let cassette = recorder.cassette();
    let answer = cassette.interactions[0].response.as_ref().unwrap();
    for name in ["x-session-token", "x-auth-token", "set-cookie"] {
        assert_eq!(answer.headers[name], REDACTED, "{name}");
    }
    assert_eq!(answer.headers["x-request-id"], "req-1");
    let sent = &cassette.interactions[1].request;
    for name in ["x-session-token", "cookie", "proxy-authorization"] {
        assert_eq!(sent.headers[name], REDACTED, "{name}");
    }

    let dir = temp_dir("record");
    let path = dir.join("leaky.json");
    recorder.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains("sk-test-key"), "{text}");

    // The redacted cassette still replays.
    let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(config, replayer.clone(), replayer.clock());
    client.delete("snap-1").unwrap();
    let request = http::Request::builder()
        .method("DELETE")
        .uri("https://api.leap0.dev/v1/snapshot/snap-2")
        .body(Vec::new())
        .unwrap();
    let replayed = Transport::send(&replayer, request, Duration::from_secs(1)).unwrap();
    assert_eq!(replayed.headers()["x-session-token"], REDACTED);
    replayer.finish().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_recorded_placeholder_matches_any_live_value() {
    // `x-trace` is no credential header: its value is redacted because it
    // holds the secret, and the body's `name` because it is configured.
    let options = RecordOptions::new()
        .secret("sk-test-key")
        .redact_json_field("name");
    let recorder = Recorder::new(leaky_server, options);
    let request = |trace: &str, name: &str| {
        http::Request::builder()
            .method("POST")
            .uri("https://api.leap0.dev/v1/sandbox/sb-1/snapshot/create")
            .header("x-trace", trace)
            .header("content-type", "application/json")
            .body(format!(r#"{{"name":"{name}"}}"#).into_bytes())
            .unwrap()
    };
    let sent = request("has sk-test-key", "warm");
    Transport::send(&recorder, sent, Duration::from_secs(1)).unwrap();
    let cassette = recorder.cassette();
    assert_eq!(
        cassette.interactions[0].request.headers["x-trace"],
        REDACTED
    );

    let options = ReplayOptions::default().match_header("x-trace");
    let replayer = Replayer::new(cassette, options).unwrap();
    let live = request("anything else", "cold");
    Transport::send(&replayer, live, Duration::from_secs(1)).unwrap();
    replayer.finish().unwrap();
}

/// The one definition of the placeholder.
const DEFINED_IN: &str = "core/src/transport/secrets.rs";

#[test]
fn the_placeholder_is_spelled_out_in_one_const_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in [
        "core/src",
        "transports/ureq/src",
        "transports/hyper/src",
        "transports/replay/src",
        "emulator/src",
        "cli/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} source files", files.len());

    let mut definitions = Vec::new();
    let mut uses: Vec<(String, usize, String)> = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for literal in string_literals(&source) {
            assert!(
                !literal.value.contains("[redacted]"),
                "{name}:{}: the old placeholder [redacted] is still used: {}",
                literal.line,
                literal.text
            );
            if !literal.value.contains(REDACTED) {
                continue;
            }
            let is_const = literal.value == REDACTED
                && literal
                    .text
                    .trim_start()
                    .trim_start_matches("pub ")
                    .trim_start_matches("(crate) ")
                    .starts_with("const REDACTED: &str =");
            if is_const && name == DEFINED_IN {
                definitions.push(format!("{name}:{}", literal.line));
            } else {
                uses.push((name.clone(), literal.line, literal.text.clone()));
            }
        }
    }
    assert_eq!(
        definitions.len(),
        1,
        "exactly one `const REDACTED` in {DEFINED_IN}: {definitions:?}"
    );

    let unexpected: Vec<String> = uses
        .iter()
        .map(|(file, line, text)| format!("{file}:{line}: {}", text.trim()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "use leap0_core::transport::REDACTED instead of spelling it out:\n{}",
        unexpected.join("\n")
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A string literal found in code.
struct Literal {
    /// Its 1-based line.
    line: usize,
    /// What stands between its quotes, escapes kept.
    value: String,
    /// The whole line it starts on.
    text: String,
}

/// The string literals of `source` outside comments and outside items marked
/// `#[cfg(test)]`. A small lexer: it knows comments (nested block comments
/// too), strings, raw strings, byte strings, character literals and
/// lifetimes, which is all it takes to match braces.
fn string_literals(source: &str) -> Vec<Literal> {
    let chars: Vec<char> = source.chars().collect();
    let lines: Vec<&str> = source.lines().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let starts_with = |i: usize, word: &str| word.chars().enumerate().all(|(k, c)| at(i + k) == c);
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let mut depth = 0usize;
    // Set by `#[cfg(test)]` until the item's body opens; then the depth at
    // which the skipped body ends.
    let mut test_item_pending = false;
    let mut skipping_until: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '\n' {
            line += 1;
            i += 1;
        } else if starts_with(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if starts_with(i, "/*") {
            let mut nesting = 0usize;
            while i < chars.len() {
                if starts_with(i, "/*") {
                    nesting += 1;
                    i += 2;
                } else if starts_with(i, "*/") {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if !prev_ident && (c == 'r' || (c == 'b' && at(i + 1) == 'r')) && {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            while at(j) == '#' {
                j += 1;
            }
            at(j) == '"' && (at(i + 1) == '#' || at(i + 1) == '"' || c == 'b')
        } {
            // A raw string: r"..", r#".."#, br"..".
            let start_line = line;
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let begin = j;
            while j < chars.len() && !starts_with(j, &closing) {
                if chars[j] == '\n' {
                    line += 1;
                }
                j += 1;
            }
            let value: String = chars[begin..j.min(chars.len())].iter().collect();
            if skipping_until.is_none() {
                out.push(literal(&lines, start_line, value));
            }
            i = j + closing.chars().count();
        } else if c == '"' {
            let start_line = line;
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                if at(j) == '\n' {
                    line += 1;
                }
                j += 1;
            }
            let value: String = chars[i + 1..j.min(chars.len())].iter().collect();
            if skipping_until.is_none() {
                out.push(literal(&lines, start_line, value));
            }
            i = j + 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1b}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if starts_with(i, "#[cfg(test)]") {
            test_item_pending = true;
            i += "#[cfg(test)]".len();
        } else {
            match c {
                '{' => {
                    if test_item_pending && skipping_until.is_none() {
                        skipping_until = Some(depth);
                    }
                    test_item_pending = false;
                    depth += 1;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if skipping_until == Some(depth) {
                        skipping_until = None;
                    }
                }
                ';' => test_item_pending = false,
                _ => {}
            }
            i += 1;
        }
    }
    out
}

fn literal(lines: &[&str], line: usize, value: String) -> Literal {
    Literal {
        line,
        value,
        text: lines.get(line - 1).copied().unwrap_or_default().to_owned(),
    }
}

#[test]
fn the_lexer_finds_literals_outside_comments_and_tests() {
    let source = r####"
// "in a comment"
/* "in a /* nested */ block" */
const A: &str = "one"; let c = '"'; let l: &'static str = r#"two "quoted""#;
fn f() { let brace = '{'; let s = "three {"; }
#[cfg(test)]
mod tests { fn g() { let x = "hidden"; let y = "{"; } }
const B: &[u8] = br"four";
"####;
    let found: Vec<String> = string_literals(source)
        .into_iter()
        .map(|l| l.value)
        .collect();
    assert_eq!(found, ["one", "two \"quoted\"", "three {", "four"]);
}
