//! The emulator's route table and the router built on it.

use hyper::Method;
use percent_encoding::percent_decode_str;

/// One `/v1` route the emulator serves.
///
/// Templates spell parameters as `{name}`, with the names and trailing `/` of the core's
/// route table (`leap0_core::route::ROUTES`); matching ignores one trailing `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedRoute {
    /// The HTTP method, e.g. `POST`.
    pub method: &'static str,
    /// The path, with parameters as `{name}`, e.g. `/v1/sandbox/{sandbox_id}/pause`.
    pub template: &'static str,
    /// The status a successful request is answered with.
    pub success: u16,
    kind: Kind,
}

/// What a route does, before its path parameter is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CreateSandbox,
    GetSandbox,
    DeleteSandbox,
    PauseSandbox,
    SnapshotCreate,
    SnapshotPause,
    Resume,
    Restore,
    DeleteSnapshot,
    ListSnapshots,
}

const fn served(
    method: &'static str,
    template: &'static str,
    success: u16,
    kind: Kind,
) -> ServedRoute {
    ServedRoute {
        method,
        template,
        success,
        kind,
    }
}

/// Every `/v1` route, in the order the router tries them (and lists them in `Allow`).
pub static ROUTES: [ServedRoute; 10] = [
    served("POST", "/v1/sandbox/", 201, Kind::CreateSandbox),
    served("GET", "/v1/sandbox/{sandbox_id}/", 200, Kind::GetSandbox),
    served(
        "DELETE",
        "/v1/sandbox/{sandbox_id}/",
        204,
        Kind::DeleteSandbox,
    ),
    served(
        "POST",
        "/v1/sandbox/{sandbox_id}/pause",
        201,
        Kind::PauseSandbox,
    ),
    served(
        "POST",
        "/v1/sandbox/{sandbox_id}/snapshot/create",
        201,
        Kind::SnapshotCreate,
    ),
    served(
        "POST",
        "/v1/sandbox/{sandbox_id}/snapshot/pause",
        201,
        Kind::SnapshotPause,
    ),
    served("POST", "/v1/snapshot/resume", 201, Kind::Resume),
    served("POST", "/v1/snapshot/restore", 201, Kind::Restore),
    served(
        "DELETE",
        "/v1/snapshot/{snapshot_id}",
        204,
        Kind::DeleteSnapshot,
    ),
    served("GET", "/v1/snapshots", 200, Kind::ListSnapshots),
];

/// A resolved `/v1` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    CreateSandbox,
    GetSandbox(String),
    DeleteSandbox(String),
    PauseSandbox(String),
    SnapshotCreate(String),
    SnapshotPause(String),
    Resume,
    Restore,
    DeleteSnapshot(String),
    ListSnapshots,
    /// A known path with another method; the `Allow` header value.
    MethodNotAllowed(String),
    NotFound,
}

impl Route {
    /// Resolves a raw (percent-encoded) path. Each `/`-separated segment is decoded on its
    /// own, so `%2F` inside an id stays part of that id. One trailing `/` is ignored.
    pub(crate) fn resolve(method: &Method, raw_path: &str) -> Self {
        let Some(segments) = decoded_segments(raw_path) else {
            return Self::NotFound;
        };
        let mut allowed: Vec<&str> = Vec::new();
        for route in &ROUTES {
            let Some(param) = route.matches(&segments) else {
                continue;
            };
            if method.as_str() == route.method {
                return route.kind.with(param);
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method);
            }
        }
        if allowed.is_empty() {
            Self::NotFound
        } else {
            Self::MethodNotAllowed(allowed.join(", "))
        }
    }

    /// The status this request answers on success (200 for the error routes).
    pub(crate) fn success_status(&self) -> u16 {
        let kind = match self {
            Self::CreateSandbox => Kind::CreateSandbox,
            Self::GetSandbox(_) => Kind::GetSandbox,
            Self::DeleteSandbox(_) => Kind::DeleteSandbox,
            Self::PauseSandbox(_) => Kind::PauseSandbox,
            Self::SnapshotCreate(_) => Kind::SnapshotCreate,
            Self::SnapshotPause(_) => Kind::SnapshotPause,
            Self::Resume => Kind::Resume,
            Self::Restore => Kind::Restore,
            Self::DeleteSnapshot(_) => Kind::DeleteSnapshot,
            Self::ListSnapshots => Kind::ListSnapshots,
            Self::MethodNotAllowed(_) | Self::NotFound => return 200,
        };
        ROUTES
            .iter()
            .find(|r| r.kind == kind)
            .map_or(200, |r| r.success)
    }
}

impl ServedRoute {
    /// The value of the route's parameter (empty when it has none) if the decoded path
    /// segments are this route's.
    fn matches(&self, segments: &[String]) -> Option<String> {
        let wanted = template_segments(self.template);
        if wanted.len() != segments.len() {
            return None;
        }
        let mut param = String::new();
        for (want, given) in wanted.iter().zip(segments) {
            if want.starts_with('{') {
                param.clone_from(given);
            } else if want != given {
                return None;
            }
        }
        Some(param)
    }
}

impl Kind {
    fn with(self, param: String) -> Route {
        match self {
            Self::CreateSandbox => Route::CreateSandbox,
            Self::GetSandbox => Route::GetSandbox(param),
            Self::DeleteSandbox => Route::DeleteSandbox(param),
            Self::PauseSandbox => Route::PauseSandbox(param),
            Self::SnapshotCreate => Route::SnapshotCreate(param),
            Self::SnapshotPause => Route::SnapshotPause(param),
            Self::Resume => Route::Resume,
            Self::Restore => Route::Restore,
            Self::DeleteSnapshot => Route::DeleteSnapshot(param),
            Self::ListSnapshots => Route::ListSnapshots,
        }
    }
}

/// The segments of a template, without the leading and one trailing `/`.
fn template_segments(template: &str) -> Vec<&str> {
    let path = template.strip_prefix('/').unwrap_or(template);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').collect()
}

/// The percent-decoded segments of a raw path, one trailing `/` ignored; `None` when a
/// segment is empty or not UTF-8, which no route accepts.
fn decoded_segments(raw_path: &str) -> Option<Vec<String>> {
    let rest = raw_path.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split('/')
        .map(|raw| {
            let seg = percent_decode_str(raw).decode_utf8().ok()?;
            (!seg.is_empty()).then(|| seg.into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn routes() {
        let r = |m: Method, p: &str| Route::resolve(&m, p);
        let not_allowed = |allow: &str| Route::MethodNotAllowed(allow.to_owned());
        assert_eq!(r(Method::POST, "/v1/sandbox/"), Route::CreateSandbox);
        assert_eq!(r(Method::POST, "/v1/sandbox"), Route::CreateSandbox);
        assert_eq!(r(Method::GET, "/v1/sandbox/"), not_allowed("POST"));
        assert_eq!(
            r(Method::GET, "/v1/sandbox/sb-1/"),
            Route::GetSandbox("sb-1".into())
        );
        assert_eq!(
            r(Method::GET, "/v1/sandbox/sb-1"),
            Route::GetSandbox("sb-1".into())
        );
        assert_eq!(
            r(Method::GET, "/v1/sandbox/a%2Fb/"),
            Route::GetSandbox("a/b".into())
        );
        assert_eq!(r(Method::PUT, "/v1/sandbox/x/"), not_allowed("GET, DELETE"));
        assert_eq!(r(Method::GET, "/v1/sandbox/a/b/"), Route::NotFound);
        assert_eq!(r(Method::GET, "/v1/sandbox//"), Route::NotFound);
        assert_eq!(
            r(Method::POST, "/v1/sandbox/a%20b/snapshot/create"),
            Route::SnapshotCreate("a b".into())
        );
        assert_eq!(
            r(Method::POST, "/v1/sandbox/x/snapshot/pause"),
            Route::SnapshotPause("x".into())
        );
        assert_eq!(
            r(Method::GET, "/v1/sandbox/x/snapshot/pause"),
            not_allowed("POST")
        );
        assert_eq!(
            r(Method::POST, "/v1/sandbox/x/pause"),
            Route::PauseSandbox("x".into())
        );
        assert_eq!(r(Method::GET, "/v1/sandbox/x/pause/"), not_allowed("POST"));
        assert_eq!(r(Method::POST, "/v1/snapshot/resume"), Route::Resume);
        assert_eq!(r(Method::POST, "/v1/snapshot/restore"), Route::Restore);
        assert_eq!(
            r(Method::DELETE, "/v1/snapshot/restore"),
            Route::DeleteSnapshot("restore".into())
        );
        assert_eq!(
            r(Method::GET, "/v1/snapshot/restore"),
            not_allowed("POST, DELETE")
        );
        assert_eq!(
            r(Method::DELETE, "/v1/snapshot/snap%2F1"),
            Route::DeleteSnapshot("snap/1".into())
        );
        assert_eq!(r(Method::GET, "/v1/snapshot/x"), not_allowed("DELETE"));
        assert_eq!(r(Method::GET, "/v1/snapshots"), Route::ListSnapshots);
        assert_eq!(r(Method::GET, "/v1/snapshots/"), Route::ListSnapshots);
        assert_eq!(r(Method::POST, "/v1/snapshots"), not_allowed("GET"));
        assert_eq!(r(Method::GET, "/v1/nothing"), Route::NotFound);
        assert_eq!(r(Method::GET, "/v1/sandbox/%FF/"), Route::NotFound);
        assert_eq!(r(Method::GET, "v1/snapshots"), Route::NotFound);
    }

    #[test]
    fn every_template_resolves_to_its_own_route() {
        for route in &ROUTES {
            let path = route.template.replace("{sandbox_id}", "sb-1");
            let path = path.replace("{snapshot_id}", "snap-1");
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let resolved = Route::resolve(&method, &path);
            assert_eq!(resolved.success_status(), route.success, "{path}");
            let param = if route.template.contains('{') {
                path.split('/').find(|s| s.contains('-')).unwrap_or("")
            } else {
                ""
            };
            assert_eq!(resolved, route.kind.with(param.to_owned()), "{path}");
        }
    }
}
