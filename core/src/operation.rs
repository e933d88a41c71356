//! What the API can do, declared once.
//!
//! [`OPERATIONS`](for_each_operation) below is the one table of operations:
//! each line gives an operation's exchange type and the module (in `ops/`)
//! that holds it, the words its error messages use, its method, route template
//! and success status, and the client method that runs it. [`Operation`], the
//! [route table](crate::route), [`Call`](crate::Call)'s one-exchange variants,
//! the clients' one-exchange methods and the replay crate's identification
//! ([`Operation::visit`]) are all generated from it, so adding an operation is
//! its own file in `ops/` plus one line here.
//!
//! This module is a leaf: it names the exchange types only as tokens handed to
//! the modules that generate code from them.

use std::fmt;

/// The table of operations, handed as tokens to `$then!` (after `args`, one
/// token tree, if given), which generates something from every line. A line reads:
///
/// `module: Type, "message words", METHOD "route template" -> SUCCESS, fn client_method;`
///
/// A client method marked `-> handle` returns the sandbox through the client's
/// sandbox factory. The operation's stable name is its module's name.
macro_rules! for_each_operation {
    ($($then:ident)::+ $($args:tt)?) => {
        $($then)::+! { $($args)?
            create_snapshot: CreateSnapshot, "create snapshot", POST "/v1/sandbox/{sandbox_id}/snapshot/create" -> CREATED, fn create;
            pause_into_snapshot: PauseIntoSnapshot, "pause sandbox", POST "/v1/sandbox/{sandbox_id}/snapshot/pause" -> CREATED, fn pause;
            resume_snapshot: ResumeSnapshot, "resume snapshot", POST "/v1/snapshot/resume" -> CREATED, fn resume -> handle;
            restore_snapshot: RestoreSnapshot, "restore snapshot", POST "/v1/snapshot/restore" -> CREATED, fn restore -> handle;
            delete_snapshot: DeleteSnapshot, "delete snapshot", DELETE "/v1/snapshot/{snapshot_id}" -> NO_CONTENT, fn delete;
            list_snapshots: ListSnapshots, "list snapshots", GET "/v1/snapshots" -> OK, fn list;
            get_sandbox: GetSandbox, "get sandbox", GET "/v1/sandbox/{sandbox_id}/" -> OK, fn sandbox;
            create_sandbox: CreateSandbox, "create sandbox", POST "/v1/sandbox/" -> CREATED, fn create_sandbox;
            delete_sandbox: DeleteSandbox, "delete sandbox", DELETE "/v1/sandbox/{sandbox_id}/" -> NO_CONTENT, fn delete_sandbox;
            pause_sandbox: PauseSandbox, "pause sandbox", POST "/v1/sandbox/{sandbox_id}/pause" -> CREATED, fn pause_sandbox;
        }
    };
}
pub(crate) use for_each_operation;

/// Generates [`Operation`] and the route table from the table of operations.
macro_rules! declare_operations {
    ($($module:ident: $ty:ident, $action:literal, $method:ident $template:literal -> $success:ident, fn $client:ident $(-> $handle:ident)?;)*) => {
        /// Which operation a request, an answer or an error belongs to; its
        /// [`Display`](fmt::Display) is the words its messages use ("create snapshot").
        /// Serializes as its [`name`](Operation::name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($method), " ", $template, "`: [`", stringify!($ty), "`](crate::", stringify!($ty), ").")]
                $ty,
            )*
        }

        impl Operation {
            /// Every operation, in route-table order.
            pub const ALL: [Operation; [$(stringify!($ty)),*].len()] = [$(Operation::$ty),*];
        }

        /// Every route, in [`Operation::ALL`] order.
        pub static ROUTES: [Route; Operation::ALL.len()] = [$(
            Route {
                operation: Operation::$ty,
                name: stringify!($module),
                action: $action,
                method: http::Method::$method,
                template: $template,
                literal_len: literal_len($template),
                success: http::StatusCode::$success,
            },
        )*];
    };
}

for_each_operation!(declare_operations);

/// One operation's facts: its route and the names it goes by.
#[derive(Debug)]
#[non_exhaustive]
pub struct Route {
    /// The operation.
    pub operation: Operation,
    /// Its stable snake_case name, as cassettes, logs and `--json` output use it.
    pub name: &'static str,
    /// The words its messages use, e.g. `"create snapshot"`.
    pub action: &'static str,
    /// The HTTP method.
    pub method: http::Method,
    /// The path below the base URL, with parameters as `{name}`. A trailing `/`
    /// is part of the route as the API spells it; matching accepts either.
    pub template: &'static str,
    /// The template's length without its `{parameters}`: with the ids'
    /// lengths, the length of a path whose ids need no escaping.
    pub(crate) literal_len: usize,
    /// The only status that means success.
    pub success: http::StatusCode,
}

/// The length of `template` without its `{parameters}`, at compile time.
const fn literal_len(template: &str) -> usize {
    let bytes = template.as_bytes();
    let (mut i, mut len, mut inside) = (0, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'{' => inside = true,
            b'}' => inside = false,
            _ if !inside => len += 1,
            _ => {}
        }
        i += 1;
    }
    len
}

impl Route {
    /// Whether sending the request twice is harmless (GET, DELETE): decides retries.
    pub fn idempotent(&self) -> bool {
        self.method == http::Method::GET || self.method == http::Method::DELETE
    }
}

impl Operation {
    /// This operation's route and names.
    pub fn route(self) -> &'static Route {
        // `ROUTES` is generated in `Operation::ALL` order, so the index is the discriminant.
        &ROUTES[self as usize]
    }

    /// The words its messages use, e.g. `"create snapshot"`.
    pub fn action(self) -> &'static str {
        self.route().action
    }

    /// A stable snake_case name, as used in cassettes and logs.
    pub fn name(self) -> &'static str {
        self.route().name
    }

    /// The operation called `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Operation> {
        ROUTES
            .iter()
            .find(|route| route.name == name)
            .map(|route| route.operation)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action())
    }
}

impl serde::Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Operation::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = ROUTES.iter().map(|route| route.name).collect();
            serde::de::Error::custom(format_args!(
                "unknown operation {name:?}; expected one of {}",
                names.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_table_is_in_operation_order() {
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(ROUTES[i].operation, *op);
            assert_eq!(op.route().operation, *op);
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.name()));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
        }
        let unknown = serde_json::from_str::<Operation>("\"fly\"").unwrap_err();
        assert!(unknown.to_string().contains("unknown operation \"fly\""));
    }
}
