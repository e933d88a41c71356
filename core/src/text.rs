//! Text for people, written once for every crate: outside text made safe for
//! a terminal, excerpts of long text, and durations as people write them.
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::text;
//!
//! assert_eq!(text::Escaped("red \u{1b}[31m").to_string(), "red \\u{1b}[31m");
//! assert_eq!(text::lines("one\ntwo\u{7}", "  "), "one\n  two\\u{7}");
//! assert_eq!(text::excerpt("abcdef", 3), "abc…");
//! assert_eq!(text::human(Duration::from_millis(61_250)).to_string(), "1m 1s 250ms");
//! assert_eq!(text::human_to_seconds(Duration::from_millis(61_250)).to_string(), "1m 1s");
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

/// Text from outside (a server, a cassette, a request) with control characters
/// escaped, so that it cannot move a terminal's cursor or forge a line.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// `text` escaped as [`Escaped`] does, allocating only when something needs escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(Escaped(text).to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// A multi-line report from outside, made safe for a terminal: control
/// characters escaped except the line breaks, and every line after the first
/// starting with `indent`, so that no line can pose as the program's own.
pub fn lines(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        let _ = write!(out, "{}", Escaped(line));
    }
    out
}

/// The first `max_chars` characters of `text`, with `…` if it was cut.
pub fn excerpt(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

/// The start of a body, lossily decoded, cut after `max_chars` characters
/// (reading at most four bytes a character, so a huge body is never copied whole).
pub fn excerpt_bytes(body: &[u8], max_chars: usize) -> String {
    let head = &body[..body.len().min(max_chars.saturating_mul(4))];
    let text = String::from_utf8_lossy(head);
    match excerpt(&text, max_chars) {
        Cow::Owned(cut) => cut,
        Cow::Borrowed(_) if head.len() < body.len() => format!("{text}…"),
        Cow::Borrowed(whole) => whole.to_owned(),
    }
}

/// A duration as people write it, to the millisecond: `4m 59s 700ms`.
pub fn human(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_millis(millis(duration)))
}

/// A duration as people write it, to the second (to the millisecond below a
/// second): `4m 59s`, `250ms`.
pub fn human_to_seconds(duration: Duration) -> humantime::FormattedDuration {
    if duration < Duration::from_secs(1) {
        human(duration)
    } else {
        humantime::format_duration(Duration::from_secs(duration.as_secs()))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_outside_are_escaped() {
        let shown = Escaped("red \u{1b}[31m\nline\u{7}").to_string();
        assert_eq!(shown, "red \\u{1b}[31m\\nline\\u{7}");
        assert!(!shown.chars().any(char::is_control));
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn continuation_lines_are_indented_and_escaped() {
        assert_eq!(lines("a\r\nb\u{1b}", "    "), "a\\r\n    b\\u{1b}");
    }

    #[test]
    fn excerpts_cut_at_characters_not_bytes() {
        assert_eq!(excerpt("ééé", 2), "éé…");
        assert_eq!(excerpt("éé", 2), "éé");
        assert_eq!(excerpt_bytes("ééé".as_bytes(), 2), "éé…");
        assert_eq!(excerpt_bytes(&[b'a'; 20], 2), "aa…");
        assert_eq!(excerpt_bytes(b"ab", 2), "ab");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(
            human(Duration::from_nanos(299_700_780_832)).to_string(),
            "4m 59s 700ms"
        );
        assert_eq!(
            human_to_seconds(Duration::from_nanos(299_700_780_832)).to_string(),
            "4m 59s"
        );
        assert_eq!(
            human_to_seconds(Duration::from_millis(250)).to_string(),
            "250ms"
        );
        assert!(!human(Duration::MAX).to_string().is_empty());
    }
}
