//! Just enough HTTP/1.1 framing for the fixtures: a message head, then a body
//! by `content-length` (or none).

use std::io::{self, Read};

/// One message: its head (up to and including the blank line) and body.
pub(crate) struct Message {
    pub(crate) head: Vec<u8>,
    pub(crate) body: Vec<u8>,
}

impl Message {
    /// The first line, as sent.
    pub(crate) fn first_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.head);
        text.lines().next().unwrap_or_default().to_owned()
    }

    /// A header's value (first one, trimmed), by lowercase name.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}:");
        let text = String::from_utf8_lossy(&self.head).into_owned();
        text.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The whole message, as it goes on the wire.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut all = self.head.clone();
        all.extend_from_slice(&self.body);
        all
    }
}

/// Reads one message; `Ok(None)` when the stream ends before a head starts.
/// `bodyless` says the body is empty whatever the headers claim (an answer to
/// a HEAD, a 204 or a 304).
pub(crate) fn read_message(stream: &mut impl Read, bodyless: bool) -> io::Result<Option<Message>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte)? {
            0 if head.is_empty() => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            _ => head.push(byte[0]),
        }
    }
    let message = Message {
        head,
        body: Vec::new(),
    };
    let no_body = bodyless
        || matches!(
            message.first_line().split(' ').nth(1),
            Some("204") | Some("304")
        );
    let length = if no_body {
        0
    } else {
        message
            .header("content-length")
            .map_or(Ok(0), |v| v.parse::<usize>())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
    };
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok(Some(Message { body, ..message }))
}
