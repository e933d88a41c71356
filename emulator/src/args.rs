//! The emulator's command-line arguments, shared by every program that serves it.

use std::fmt;
use std::time::Duration;

use crate::config::{DEFAULT_MAX_LOGGED_REQUESTS, EmulatorConfig};

/// The environment variable that can give the API key.
pub const API_KEY_ENV: &str = "LEAP0_EMULATOR_API_KEY";
/// The environment variable that can give the port.
pub const PORT_ENV: &str = "LEAP0_EMULATOR_PORT";
/// The key the emulator accepts unless told otherwise. It is public: never a secret.
pub const DEFAULT_API_KEY: &str = "test-key";

/// The emulator's flags, for the `leap0-emulator` binary and for any program that embeds
/// the emulator (`leap0 emulator`), so that both accept exactly the same flags and
/// environment variables. Flatten it into a clap parser:
///
/// ```
/// use clap::Parser;
/// use leap0_emulator::EmulatorArgs;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     emulator: EmulatorArgs,
/// }
///
/// let cli = Cli::parse_from(["prog", "--ready-after", "500ms", "--max-active-sandboxes", "3"]);
/// let config = cli.emulator.config();
/// assert_eq!(config.ready_after, std::time::Duration::from_millis(500));
/// assert_eq!(config.max_active_sandboxes, Some(3));
/// ```
///
/// The field docs are the help texts. `Debug` never shows the API key, and neither does
/// the help (environment values are hidden).
#[derive(Clone, PartialEq, Eq, clap::Args)]
pub struct EmulatorArgs {
    /// Port to listen on, on 127.0.0.1; 0 picks any free port
    #[arg(long, env = PORT_ENV, hide_env_values = true, default_value_t = 0)]
    pub port: u16,

    /// API key the emulator accepts
    #[arg(
        long,
        value_name = "KEY",
        env = API_KEY_ENV,
        hide_env_values = true,
        default_value = DEFAULT_API_KEY
    )]
    pub api_key: String,

    /// Header that carries the API key, as "Bearer KEY" or the bare key
    #[arg(long, value_name = "NAME", default_value = "authorization")]
    pub auth_header: String,

    /// Status reads a new sandbox answers "starting" to before it is "running"
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub ready_after_reads: u32,

    /// Least time a new sandbox stays "starting", such as 500ms or 2s
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub ready_after: Duration,

    /// Most sandboxes starting or running at once; no limit when not given
    #[arg(long, value_name = "N")]
    pub max_active_sandboxes: Option<usize>,

    /// Most requests the request log keeps; the oldest are dropped past that
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LOGGED_REQUESTS)]
    pub max_logged_requests: usize,
}

impl EmulatorArgs {
    /// The configuration these flags describe (everything else at its default).
    pub fn config(&self) -> EmulatorConfig {
        EmulatorConfig::default()
            .port(self.port)
            .api_key(self.api_key.clone())
            .auth_header(self.auth_header.clone())
            .ready_after_reads(self.ready_after_reads)
            .ready_after(self.ready_after)
            .max_active_sandboxes(self.max_active_sandboxes)
            .max_logged_requests(self.max_logged_requests)
    }

    /// What to tell the user once the emulator listens at `base_url`: a command line that
    /// works when pasted into a shell as is.
    ///
    /// It spells out the key only when it is the public [`DEFAULT_API_KEY`]. A key that is
    /// the value of `$LEAP0_EMULATOR_API_KEY` is referred to by that variable; any other
    /// key is never printed, and the hint says in words to set `LEAP0_API_KEY` to it.
    pub fn startup_hint(&self, base_url: &str) -> String {
        let env_key = std::env::var(API_KEY_ENV).ok();
        self.hint(base_url, env_key.as_deref())
    }

    /// [`startup_hint`](Self::startup_hint), with the environment's key given.
    fn hint(&self, base_url: &str, env_key: Option<&str>) -> String {
        let config = self.config();
        let command = match config.seed_sandboxes.first() {
            Some(id) => format!("leap0 snapshots create {}", shell_word(id)),
            None => "leap0 snapshots list".to_owned(),
        };
        let url = format!("LEAP0_BASE_URL={}", shell_word(base_url));
        let mut hint = if self.api_key == DEFAULT_API_KEY {
            format!("{url} LEAP0_API_KEY={DEFAULT_API_KEY} {command}")
        } else if env_key == Some(self.api_key.as_str()) {
            format!("{url} LEAP0_API_KEY=\"${API_KEY_ENV}\" {command}")
        } else {
            format!("Set LEAP0_API_KEY to the key given with --api-key, then run:\n{url} {command}")
        };
        if !self
            .auth_header
            .trim()
            .eq_ignore_ascii_case("authorization")
        {
            hint.push_str(&format!(
                "\nNote: the key is expected in the {} header; the leap0 command line sends it in authorization.",
                self.auth_header.trim()
            ));
        }
        hint
    }
}

impl fmt::Debug for EmulatorArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorArgs")
            .field("port", &self.port)
            .field("api_key", &leap0_core::transport::REDACTED)
            .field("auth_header", &self.auth_header)
            .field("ready_after_reads", &self.ready_after_reads)
            .field("ready_after", &self.ready_after)
            .field("max_active_sandboxes", &self.max_active_sandboxes)
            .field("max_logged_requests", &self.max_logged_requests)
            .finish()
    }
}

/// `word` as one shell word: as is when it is plainly safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        emulator: EmulatorArgs,
    }

    fn args(flags: &[&str]) -> EmulatorArgs {
        let argv = std::iter::once("prog").chain(flags.iter().copied());
        Cli::try_parse_from(argv).unwrap().emulator
    }

    const URL: &str = "http://127.0.0.1:4321";

    #[test]
    fn defaults_match_the_config_defaults() {
        let parsed = args(&[]);
        // The test process may carry these variables; the defaults hold without them.
        if std::env::var_os(API_KEY_ENV).is_none() && std::env::var_os(PORT_ENV).is_none() {
            assert_eq!(parsed.config(), EmulatorConfig::default());
        }
        assert_eq!(parsed.ready_after, Duration::ZERO);
        assert_eq!(parsed.max_logged_requests, 10_000);
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let config = args(&[
            "--port",
            "8080",
            "--api-key",
            "k",
            "--auth-header",
            "X-Key",
            "--ready-after-reads",
            "0",
            "--ready-after",
            "2s",
            "--max-active-sandboxes",
            "3",
            "--max-logged-requests",
            "5",
        ])
        .config();
        let expected = EmulatorConfig::default()
            .port(8080)
            .api_key("k")
            .auth_header("X-Key")
            .ready_after_reads(0)
            .ready_after(Duration::from_secs(2))
            .max_active_sandboxes(Some(3))
            .max_logged_requests(5);
        assert_eq!(config, expected);
        assert!(Cli::try_parse_from(["prog", "--ready-after", "soon"]).is_err());
    }

    #[test]
    fn the_default_key_is_spelled_out() {
        assert_eq!(
            args(&[]).hint(URL, None),
            "LEAP0_BASE_URL=http://127.0.0.1:4321 LEAP0_API_KEY=test-key leap0 snapshots create sb-seed-1"
        );
    }

    #[test]
    fn a_key_from_the_environment_is_referred_to_by_name() {
        let hint = args(&["--api-key", "s3cret"]).hint(URL, Some("s3cret"));
        assert_eq!(
            hint,
            "LEAP0_BASE_URL=http://127.0.0.1:4321 LEAP0_API_KEY=\"$LEAP0_EMULATOR_API_KEY\" leap0 snapshots create sb-seed-1"
        );
    }

    #[test]
    fn a_key_given_as_a_flag_is_never_printed() {
        let parsed = args(&["--api-key", "s3cret"]);
        for env in [None, Some("other")] {
            let hint = parsed.hint(URL, env);
            assert!(!hint.contains("s3cret"), "{hint}");
            assert_eq!(
                hint,
                "Set LEAP0_API_KEY to the key given with --api-key, then run:\n\
                 LEAP0_BASE_URL=http://127.0.0.1:4321 leap0 snapshots create sb-seed-1"
            );
        }
        assert!(!format!("{parsed:?}").contains("s3cret"));
    }

    #[test]
    fn a_custom_auth_header_is_pointed_out() {
        let hint = args(&["--auth-header", "X-API-Key"]).hint(URL, None);
        assert!(hint.ends_with(
            "\nNote: the key is expected in the X-API-Key header; the leap0 command line sends it in authorization."
        ));
    }

    #[test]
    fn odd_words_are_quoted_for_the_shell() {
        assert_eq!(shell_word("http://127.0.0.1:80"), "http://127.0.0.1:80");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$(x)"), "'$(x)'");
        assert_eq!(shell_word(""), "''");
    }
}
