//! [`ServerTime`]: a timestamp as the server wrote it, parsed when it can be.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time reported by the server (`created_at`): the text as written,
/// always kept so that nothing is lost when a server writes something else,
/// read as an RFC 3339 [`jiff::Timestamp`] on demand (decoding an answer does
/// not pay for a parse nobody may ask for).
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
}

impl ServerTime {
    /// Keeps `text` as written.
    pub fn new(text: impl Into<String>) -> Self {
        ServerTime { text: text.into() }
    }

    /// The text as the server wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, if the text is an RFC 3339 timestamp.
    pub fn timestamp(&self) -> Option<jiff::Timestamp> {
        self.text.trim().parse().ok()
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
