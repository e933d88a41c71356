//! [`ServerTime`]: a timestamp as the server wrote it, parsed when it can be.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time reported by the server (`created_at`): parsed as RFC 3339
/// into a [`jiff::Timestamp`] when it is one, with the text as written always
/// kept, so that nothing is lost when a server writes something else.
///
/// ```
/// use leap0_core::model::ServerTime;
///
/// let t = ServerTime::new("2025-01-15T10:30:00Z");
/// assert_eq!(t.timestamp().map(|t| t.as_second()), Some(1_736_937_000));
/// let odd = ServerTime::new("yesterday");
/// assert_eq!((odd.as_str(), odd.timestamp()), ("yesterday", None));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerTime {
    text: String,
    parsed: Option<jiff::Timestamp>,
}

impl ServerTime {
    /// Keeps `text` and parses it if it is an RFC 3339 timestamp.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parsed = text.trim().parse::<jiff::Timestamp>().ok();
        ServerTime { text, parsed }
    }

    /// The text as the server wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed instant, if the text is an RFC 3339 timestamp.
    pub fn timestamp(&self) -> Option<jiff::Timestamp> {
        self.parsed
    }
}

impl fmt::Debug for ServerTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for ServerTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for ServerTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ServerTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ServerTime::new)
    }
}
