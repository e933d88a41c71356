//! Loopback servers for testing the leap0 transports and command line: raw
//! HTTP/1.1 servers that show the bytes on the wire ([`raw_server`]), an HTTP
//! proxy that tunnels and forwards ([`proxy`]), and a private certificate
//! authority with a TLS front for any plain server ([`tls`]).
//!
//! Everything runs on plain `std` threads, so blocking and async clients alike
//! can use it. A helper that cannot go on (no loopback socket, a certificate
//! that does not build) panics with a message saying why: these are test
//! fixtures, and a broken fixture should stop the test loudly.
#![forbid(unsafe_code)]

pub mod proxy;
pub mod raw_server;
pub mod tls;

mod http1;
