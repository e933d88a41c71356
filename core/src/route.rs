//! The route table: each operation's method, path template and success status,
//! declared once in the table of operations (`operation.rs`). The core builds
//! paths from it, the replay crate recognises recorded requests with it, and
//! the emulator's tests check their router against it.
//!
//! ```
//! use leap0_core::{Operation, route};
//!
//! let create = Operation::CreateSnapshot.route();
//! assert_eq!(create.template, "/v1/sandbox/{sandbox_id}/snapshot/create");
//! assert_eq!(create.params().collect::<Vec<_>>(), ["sandbox_id"]);
//! assert_eq!(create.path(&["sb 1"])?, "/v1/sandbox/sb%201/snapshot/create");
//!
//! let (found, params) = route::find("POST", "/prefix/v1/sandbox/sb%201/snapshot/create")
//!     .expect("a route");
//! assert_eq!(found.operation, Operation::CreateSnapshot);
//! assert_eq!(params, [("sandbox_id", "sb 1".to_owned())]);
//! # Ok::<(), leap0_core::model::FieldProblem>(())
//! ```

use percent_encoding::percent_decode_str;

use crate::model::FieldProblem;
pub use crate::operation::{ROUTES, Route};
use crate::validate;

impl Route {
    /// The names of the path parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> + use<> {
        segments(self.template).filter_map(param_name)
    }

    /// The percent-encoded path for these parameter values (in [`params`](Self::params)
    /// order), each encoded as exactly one segment after checking it (empty ids
    /// and the ids `.` and `..` are refused, naming the parameter).
    pub fn path(&self, values: &[&str]) -> Result<String, FieldProblem> {
        let mut path = String::with_capacity(self.template.len() + 32);
        self.push_path(&mut path, values)?;
        Ok(path)
    }

    /// Appends [`path`](Self::path) to `out`.
    pub(crate) fn push_path(&self, out: &mut String, values: &[&str]) -> Result<(), FieldProblem> {
        let mut values = values.iter();
        let mut rest = self.template;
        // Byte searches: the template is ASCII and short, where `str::find`'s
        // general searcher costs more than the scan.
        let at = |text: &str, byte: u8| text.bytes().position(|b| b == byte);
        while let Some(open) = at(rest, b'{') {
            let close = at(&rest[open..], b'}').map_or(rest.len(), |c| open + c);
            let name = &rest[open + 1..close];
            let value = values.next().ok_or_else(|| {
                FieldProblem::new(name, "is required by the route but was not given")
            })?;
            out.push_str(&rest[..open]);
            validate::push_path_segment(out, name, value)?;
            rest = rest.get(close + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        Ok(())
    }

    /// The decoded parameter values if `method` and the raw (percent-encoded)
    /// `path` are this route's; a trailing `/` is optional.
    pub fn matches(&self, method: &str, path: &str) -> Option<Vec<(&'static str, String)>> {
        let mut params = Vec::new();
        self.walk(method, path, |name, value| {
            params.push((name, value.into_owned()))
        })
        .then_some(params)
    }

    /// Whether `method` and `path` are this route's: [`matches`](Self::matches)
    /// without keeping the parameters (nothing is allocated for ids that
    /// need no decoding).
    pub fn is_match(&self, method: &str, path: &str) -> bool {
        self.walk(method, path, |_, _| {})
    }

    /// Walks `path` along the template, handing each decoded parameter to
    /// `param`; whether the whole path matched.
    fn walk<'p>(
        &self,
        method: &str,
        path: &'p str,
        mut param: impl FnMut(&'static str, std::borrow::Cow<'p, str>),
    ) -> bool {
        if !self.method.as_str().eq_ignore_ascii_case(method) {
            return false;
        }
        let mut wanted = trimmed(self.template);
        let mut given = trimmed(path);
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) => match param_name(w) {
                    Some(name) => match percent_decode_str(g).decode_utf8() {
                        Ok(value) if !value.is_empty() => param(name, value),
                        _ => return false,
                    },
                    None if w == g => {}
                    None => return false,
                },
                _ => return false,
            }
        }
    }
}

/// The route a request belongs to, with its decoded parameters. Anything before
/// `/v1/` (a proxy's path prefix) is ignored.
pub fn find(method: &str, path: &str) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    let start = path.find("/v1/")?;
    let path = &path[start..];
    ROUTES
        .iter()
        .find_map(|route| route.matches(method, path).map(|params| (route, params)))
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The segments of `path`, ignoring one trailing `/`. Empty inner segments
/// stay, so `/v1/sandbox//` never matches a route with a parameter there.
fn trimmed(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/')
}

fn param_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::operation::Operation;

    #[test]
    fn every_built_path_is_found_again() {
        for route in &ROUTES {
            let values: Vec<&str> = route.params().map(|_| "a/b %").collect();
            let path = route.path(&values).unwrap();
            let (found, params) = find(route.method.as_str(), &path).unwrap();
            assert_eq!(found.operation, route.operation, "{path}");
            assert!(params.iter().all(|(_, v)| v == "a/b %"));
            // With and without the trailing slash.
            let other = match path.strip_suffix('/') {
                Some(p) => p.to_owned(),
                None => format!("{path}/"),
            };
            assert_eq!(
                find(route.method.as_str(), &other).unwrap().0.operation,
                route.operation
            );
        }
    }

    #[test]
    fn near_misses_are_not_routes() {
        for (method, path) in [
            ("GET", "/v2/snapshots"),
            ("PUT", "/v1/snapshot/resume"),
            ("GET", "/v1/sandbox//"),
            ("GET", "/v1/sandbox/a/b/"),
            ("POST", "/v1/sandbox/a/snapshot/other"),
            ("GET", "/v1/sandbox/%FF/"),
        ] {
            assert!(find(method, path).is_none(), "{method} {path}");
        }
        // A DELETE of a snapshot called "resume" is still a delete.
        let (route, params) = find("DELETE", "/v1/snapshot/resume").unwrap();
        assert_eq!(route.operation, Operation::DeleteSnapshot);
        assert_eq!(params, [("snapshot_id", "resume".to_owned())]);
    }

    #[test]
    fn paths_refuse_bad_ids_naming_the_parameter() {
        let route = Operation::DeleteSnapshot.route();
        for bad in ["", " ", ".", ".."] {
            assert_eq!(route.path(&[bad]).unwrap_err().field, "snapshot_id");
        }
        assert_eq!(route.path(&[]).unwrap_err().field, "snapshot_id");
    }
}
