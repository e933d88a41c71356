//! [`Secrets`]: finding and scrubbing credentials in text, in the forms they leak in.
//!
//! A key leaks not only as itself: a server may echo the bare token of a
//! `Bearer` header, base64-encode it (at any byte alignment, in the standard or
//! the URL-safe alphabet), escape it as JSON `\u` sequences, or percent-encode
//! it. [`Secrets::find`] looks for every one of these forms; the cassette writer,
//! both transports and the command line use it, so one set of rules guards every
//! way out.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use http::HeaderValue;
use percent_encoding::percent_decode_str;

/// What replaces a secret or a redacted value everywhere: in messages
/// ([`Secrets::scrub`]), in cassettes (headers, query parameters and JSON
/// fields redacted when recording) and in the emulator's request log.
///
/// A cassette value equal to it matches any live value when replaying, so it
/// must never change: cassettes already on disk hold it.
pub const REDACTED: &str = "<redacted>";

/// What replaces text that still holds a secret after scrubbing.
const WITHHELD: &str = "<redacted: the text held a secret in an encoded form>";

/// What replaces it when a secret is part of the words of [`WITHHELD`] itself:
/// shorter than any secret looked for, and free of `\`, `%` and base64 runs.
const WITHHELD_SHORT: &str = "[…]";

/// Shortest secret (or token) looked for: shorter strings would match by chance.
const MIN_SECRET_CHARS: usize = 4;

/// Shortest base64 run looked for.
const MIN_ENCODED_CHARS: usize = 6;

/// How many rounds of JSON unescaping are tried (text quoted inside JSON inside
/// JSON, as a cassette stores an escaped echo, needs two).
const UNESCAPE_ROUNDS: usize = 3;

/// The form in which a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretForm {
    /// As given, or its bare token (`sk-…` of `Bearer sk-…`).
    Plain,
    /// Base64-encoded (standard or URL-safe alphabet, any alignment).
    Base64,
    /// Written with JSON escapes (`\u0073k-…`).
    JsonEscaped,
    /// Percent-encoded (`sk%2D…`).
    PercentEncoded,
}

impl fmt::Display for SecretForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretForm::Plain => "as is",
            SecretForm::Base64 => "base64-encoded",
            SecretForm::JsonEscaped => "JSON-escaped",
            SecretForm::PercentEncoded => "percent-encoded",
        })
    }
}

/// Secrets that must never be shown, and the forms they are searched in.
///
/// Secrets (and bare tokens) shorter than four characters are ignored. Base64
/// forms are found for secrets of at least five bytes: at every alignment such
/// a secret has at least six base64 characters of its own, while a shorter one
/// would match unrelated base64 text by chance.
///
/// `Debug` shows how many there are, never what they are.
///
/// ```
/// use leap0_core::transport::{SecretForm, Secrets};
///
/// let secrets = Secrets::new().with("Bearer sk-very-secret");
/// assert_eq!(secrets.find("echo: sk-very-secret"), Some(SecretForm::Plain));
/// // "sk-very-secret" base64-encoded after one byte of something else:
/// assert_eq!(secrets.find("eHNrLXZlcnktc2VjcmV0"), Some(SecretForm::Base64));
/// assert_eq!(secrets.find(r#"{"k":"\u0073k-very-secret"}"#), Some(SecretForm::JsonEscaped));
/// assert_eq!(secrets.find("k=sk%2Dvery%2Dsecret"), Some(SecretForm::PercentEncoded));
/// assert_eq!(secrets.scrub("failed with sk-very-secret"), "failed with <redacted>");
/// ```
#[derive(Clone, Default)]
pub struct Secrets {
    /// The secrets and their bare tokens, longest first.
    plain: Vec<String>,
    /// Base64 runs that only the secrets can produce, longest first.
    encoded: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.plain.len())
    }
}

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret (trimmed; empty and very short ones are ignored). A value of
    /// the form `<scheme> <token>`, such as `Bearer sk-…`, adds the bare token too.
    pub fn with(mut self, secret: &str) -> Self {
        self.add(secret);
        self
    }

    /// Adds a secret, as [`with`](Self::with) does.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        let token = match secret.split_once(' ') {
            Some((scheme, token)) if scheme.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(token.trim())
            }
            _ => None,
        };
        for form in std::iter::once(secret).chain(token) {
            if form.chars().count() < MIN_SECRET_CHARS || self.plain.iter().any(|p| p == form) {
                continue;
            }
            self.plain.push(form.to_owned());
            for run in base64_runs(form.as_bytes()) {
                if !self.encoded.contains(&run) {
                    self.encoded.push(run);
                }
            }
        }
        self.plain.sort_by_key(|p| std::cmp::Reverse(p.len()));
        self.encoded.sort_by_key(|e| std::cmp::Reverse(e.len()));
    }

    /// Adds every secret of `other`.
    pub fn merge(&mut self, other: &Secrets) {
        for secret in &other.plain {
            self.add(secret);
        }
    }

    /// The values of the headers in `headers` that may carry credentials: those
    /// marked sensitive, and those whose names contain auth, key, token, secret,
    /// cookie or session.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut secrets = Secrets::new();
        for (name, value) in headers {
            if is_sensitive_header(name.as_str(), value) {
                secrets.add(&String::from_utf8_lossy(value.as_bytes()));
            }
        }
        secrets
    }

    /// Whether there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }

    /// The form in which a secret occurs in `text`, if it does.
    pub fn find(&self, text: &str) -> Option<SecretForm> {
        if self.is_empty() {
            return None;
        }
        if self.plain_in(text) {
            return Some(SecretForm::Plain);
        }
        if self.encoded.iter().any(|run| text.contains(run.as_str())) {
            return Some(SecretForm::Base64);
        }
        if text.contains('\\') {
            let mut unescaped = Cow::Borrowed(text);
            for _ in 0..UNESCAPE_ROUNDS {
                let Cow::Owned(next) = json_unescape(&unescaped) else {
                    break;
                };
                if self.plain_in(&next) || self.percent_in(&next) {
                    return Some(SecretForm::JsonEscaped);
                }
                unescaped = Cow::Owned(next);
            }
        }
        if self.percent_in(text) {
            return Some(SecretForm::PercentEncoded);
        }
        None
    }

    /// Whether a secret occurs in `text` in any form.
    pub fn contains(&self, text: &str) -> bool {
        self.find(text).is_some()
    }

    /// `text` with every secret replaced by [`REDACTED`]. Plain and base64 forms
    /// are cut out where they stand; text that still holds an escaped or encoded
    /// form is withheld as a whole.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in self.plain.iter().chain(&self.encoded) {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        // Also when cutting out one secret put another together (a secret
        // such as `dact` is part of `<redacted>`).
        if self.find(&out).is_some() {
            return Cow::Borrowed(if self.find(WITHHELD).is_some() {
                WITHHELD_SHORT
            } else {
                WITHHELD
            });
        }
        out
    }

    fn plain_in(&self, text: &str) -> bool {
        self.plain.iter().any(|p| text.contains(p.as_str()))
    }

    fn percent_in(&self, text: &str) -> bool {
        text.contains('%') && self.plain_in(&percent_decode_str(text).decode_utf8_lossy())
    }
}

/// Whether a header may carry credentials: marked sensitive, or named like
/// auth, key, token, secret, cookie or session (in any case; see
/// [`is_sensitive_header_name`]). Transports keep such values out of every log
/// and message.
pub fn is_sensitive_header(name: &str, value: &HeaderValue) -> bool {
    value.is_sensitive() || is_sensitive_header_name(name)
}

/// The standard headers every request carries, which never hold credentials.
static PLAIN_HEADERS: [http::HeaderName; 6] = {
    use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
    [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        ACCEPT,
        USER_AGENT,
        HOST,
        ACCEPT_ENCODING,
    ]
};

/// Whether `name` is a standard header that never holds credentials: a cheap
/// comparison of typed names, without reading the name's text.
pub(crate) fn is_plain_header(name: &http::HeaderName) -> bool {
    PLAIN_HEADERS.contains(name)
}

/// [`is_sensitive_header`] for a typed header, as transports ask it of every
/// header of every request: the standard headers that never carry credentials
/// (`content-type`, `content-length`, `accept`, `user-agent`, `host`,
/// `accept-encoding`) are told apart without reading their names' text.
///
/// ```
/// use leap0_core::http::{HeaderName, HeaderValue, header};
/// use leap0_core::transport::is_sensitive_entry;
///
/// let plain = HeaderValue::from_static("x");
/// assert!(is_sensitive_entry(&header::AUTHORIZATION, &plain));
/// assert!(is_sensitive_entry(&HeaderName::from_static("x-api-key"), &plain));
/// assert!(!is_sensitive_entry(&header::CONTENT_TYPE, &plain));
/// let mut flagged = HeaderValue::from_static("x");
/// flagged.set_sensitive(true);
/// assert!(is_sensitive_entry(&header::CONTENT_TYPE, &flagged));
/// ```
pub fn is_sensitive_entry(name: &http::HeaderName, value: &HeaderValue) -> bool {
    value.is_sensitive() || (!is_plain_header(name) && is_sensitive_header_name(name.as_str()))
}

/// Whether a header's name says it may carry credentials: it contains auth,
/// key, token, secret, cookie or session, in any case. This is the one rule
/// every part of the SDK redacts headers by: error messages, transport logs,
/// cassettes (request and response headers) and the emulator's request log.
///
/// ```
/// use leap0_core::transport::is_sensitive_header_name;
///
/// for name in [
///     "authorization", "Proxy-Authorization", "x-api-key", "cookie", "set-cookie",
///     "x-auth-token", "x-session-token", "x-client-secret",
/// ] {
///     assert!(is_sensitive_header_name(name), "{name}");
/// }
/// for name in ["content-type", "x-request-id", "retry-after", "user-agent"] {
///     assert!(!is_sensitive_header_name(name), "{name}");
/// }
/// ```
pub fn is_sensitive_header_name(name: &str) -> bool {
    // Asked for every header of every request: one pass over a short name,
    // looking further only where one of the words could start, costs a
    // fraction of six substring searches.
    let name = name.as_bytes();
    let starts = |at: usize, word: &[u8]| {
        name.get(at..at + word.len())
            .is_some_and(|part| part.eq_ignore_ascii_case(word))
    };
    name.iter()
        .enumerate()
        .any(|(at, byte)| match byte.to_ascii_lowercase() {
            b'a' => starts(at, b"auth"),
            b'k' => starts(at, b"key"),
            b't' => starts(at, b"token"),
            b's' => starts(at, b"secret") || starts(at, b"session"),
            b'c' => starts(at, b"cookie"),
            _ => false,
        })
}

/// The base64 runs that encode `secret` whatever bytes surround it: for each
/// of the three alignments, the characters whose bits come from the secret alone.
fn base64_runs(secret: &[u8]) -> Vec<String> {
    let mut runs = Vec::new();
    for lead in 0..3usize {
        let mut input = vec![0u8; lead];
        input.extend_from_slice(secret);
        let encoded = STANDARD_NO_PAD.encode(&input);
        // Characters mixing bits of the unknown leading bytes with the secret's.
        let skip = match lead {
            0 => 0,
            1 => 2,
            _ => 3,
        };
        // The last character mixes in unknown following bytes unless the input
        // ends on a 3-byte boundary.
        let end = if input.len() % 3 == 0 {
            encoded.len()
        } else {
            encoded.len().saturating_sub(1)
        };
        let Some(run) = encoded.get(skip..end) else {
            continue;
        };
        if run.len() < MIN_ENCODED_CHARS {
            continue;
        }
        let url_safe = URL_SAFE_NO_PAD.encode(&input);
        for candidate in [run, url_safe.get(skip..end).unwrap_or(run)] {
            if !runs.iter().any(|r| r == candidate) {
                runs.push(candidate.to_owned());
            }
        }
    }
    runs
}

/// One round of JSON string unescaping (`\\`, `\"`, `\/`, `\n`..., and `\u`
/// with four hex digits, surrogate pairs included); `Cow::Borrowed` when there
/// was nothing to unescape.
fn json_unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut changed = false;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let replacement = match chars.peek().copied() {
            Some(e @ ('\\' | '"' | '/')) => Some(e),
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('r') => Some('\r'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('u') => {
                let mut lookahead = chars.clone();
                lookahead.next();
                match read_unicode_escape(&mut lookahead) {
                    Some(decoded) => {
                        chars = lookahead;
                        out.push(decoded);
                        changed = true;
                        continue;
                    }
                    None => None,
                }
            }
            _ => None,
        };
        match replacement {
            Some(r) => {
                chars.next();
                out.push(r);
                changed = true;
            }
            None => out.push('\\'),
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Reads the four hex digits after `\u`, and a following `\u` low surrogate if needed.
fn read_unicode_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let first = read_hex4(chars)?;
    if (0xD800..0xDC00).contains(&first) {
        let mut rest = chars.clone();
        if rest.next()? != '\\' || rest.next()? != 'u' {
            return None;
        }
        let low = read_hex4(&mut rest)?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        *chars = rest;
        let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
        return char::from_u32(code);
    }
    char::from_u32(first)
}

fn read_hex4(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u32> {
    let mut value = 0u32;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: &str = "sk-live-4f9c2e7a1b";

    fn secrets() -> Secrets {
        Secrets::new().with(&format!("Bearer {KEY}"))
    }

    #[test]
    fn every_base64_alignment_and_alphabet_is_found() {
        let s = secrets();
        for lead in ["", "a", "ab", "abc", "abcd"] {
            for trail in ["", "z", "zz", "zzz"] {
                let bytes = format!("{lead}{KEY}{trail}");
                for engine in [
                    base64::engine::general_purpose::STANDARD,
                    base64::engine::general_purpose::URL_SAFE,
                ] {
                    let encoded = engine.encode(bytes.as_bytes());
                    assert_eq!(s.find(&encoded), Some(SecretForm::Base64), "{lead}|{trail}");
                }
            }
        }
        // The Bearer form as a whole, too.
        let header = STANDARD_NO_PAD.encode(format!("Bearer {KEY}"));
        assert!(s.find(&header).is_some());
    }

    #[test]
    fn escaped_and_percent_encoded_forms_are_found() {
        let s = secrets();
        let all_escaped: String = KEY
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        assert_eq!(s.find(&all_escaped), Some(SecretForm::JsonEscaped));
        // As a cassette stores an escaped echo inside a JSON string: escaped twice.
        let twice = all_escaped.replace('\\', "\\\\");
        assert_eq!(s.find(&twice), Some(SecretForm::JsonEscaped));
        let percent: String = KEY.bytes().map(|b| format!("%{b:02X}")).collect();
        assert_eq!(s.find(&percent), Some(SecretForm::PercentEncoded));
        assert_eq!(s.find("nothing to see"), None);
        assert_eq!(s.find("Bearer"), None, "the scheme alone is no secret");
    }

    #[test]
    fn scrubbing_cuts_out_plain_and_base64_and_withholds_the_rest() {
        let s = secrets();
        assert_eq!(s.scrub(&format!("a {KEY} b")), format!("a {REDACTED} b"));
        let b64 = STANDARD_NO_PAD.encode(KEY);
        assert!(!s.scrub(&format!("x {b64} y")).contains(&b64[2..10]));
        let percent: String = KEY.bytes().map(|b| format!("%{b:02X}")).collect();
        let scrubbed = s.scrub(&percent);
        assert!(!scrubbed.contains(&percent) && scrubbed.starts_with("<redacted"));
        assert_eq!(s.scrub("clean"), "clean");
    }

    #[test]
    fn a_secret_within_the_notices_is_withheld_too() {
        // "dact" is part of the placeholder: cutting it out must not put it back.
        for secret in ["dact", "redacted", "text held", REDACTED] {
            let s = Secrets::new().with(secret);
            let scrubbed = s.scrub("before dact redacted text held after");
            assert_eq!(s.find(&scrubbed), None, "{secret:?}: {scrubbed:?}");
        }
        assert_eq!(Secrets::new().with("dact").scrub("dact"), WITHHELD_SHORT);
    }

    #[test]
    fn sensitive_headers_are_collected_by_flag_and_name() {
        let mut headers = HeaderMap::new();
        let mut marked = HeaderValue::from_static("marked-value-1");
        marked.set_sensitive(true);
        headers.insert("x-custom", marked);
        headers.insert("x-api-key", HeaderValue::from_static("named-value-2"));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        let s = Secrets::from_headers(&headers);
        assert!(s.contains("marked-value-1") && s.contains("named-value-2"));
        assert!(!s.contains("application/json"));
        assert_eq!(format!("{s:?}"), "Secrets(2 values)");
    }

    #[test]
    fn one_rule_names_every_credential_header() {
        for name in [
            "authorization",
            "Proxy-Authorization",
            "x-api-key",
            "cookie",
            "Set-Cookie",
            "x-auth-token",
            "x-session-token",
            "X-SESSION-ID",
            "x-client-secret",
        ] {
            assert!(is_sensitive_header_name(name), "{name}");
            assert!(is_sensitive_header(name, &HeaderValue::from_static("v")));
        }
        for name in [
            "content-type",
            "x-request-id",
            "retry-after",
            "leap0-source",
        ] {
            assert!(!is_sensitive_header_name(name), "{name}");
        }
        let mut marked = HeaderValue::from_static("v");
        marked.set_sensitive(true);
        assert!(is_sensitive_header("x-custom", &marked));
    }

    #[test]
    fn scrubbing_uses_the_one_placeholder() {
        let s = secrets();
        assert_eq!(s.scrub(KEY), REDACTED);
        assert_eq!(REDACTED, "<redacted>", "cassettes on disk hold this value");
    }
}
