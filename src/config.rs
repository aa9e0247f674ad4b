//! Configuration: built-in defaults, then an optional TOML file, then `EXSYNC_*`
//! environment variables, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::connectors::graph::budget::MailboxBudget;

/// One configuration key: its file key (the variable is `EXSYNC_` + upper case), its
/// default and what it means, in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The file key, e.g. `bind`.
    pub key: &'static str,
    /// The default, as a person would write it, or what happens when unset.
    pub default: &'static str,
    /// What it sets, in a line.
    pub meaning: &'static str,
}

impl Setting {
    /// The environment variable, e.g. `EXSYNC_BIND`.
    pub fn variable(&self) -> String {
        format!("EXSYNC_{}", self.key.to_ascii_uppercase())
    }
}

/// Every key a file or the environment may set: the one list the loader accepts
/// ([`KEYS`]), `serve --help` shows and the README's table is checked against.
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    Setting { key: "bind", default: "127.0.0.1:8080", meaning: "address the HTTP server listens on" },
    Setting { key: "data_dir", default: "./data", meaning: "database and generated master key (mode 0700)" },
    Setting { key: "admin_token", default: "generated", meaning: "admin bearer token, at least 32 characters; generated and printed once when unset" },
    Setting { key: "metrics_token", default: "none", meaning: "read-only bearer token for GET /metrics, at least 32 characters" },
    Setting { key: "master_key", default: "key file", meaning: "base64 of 32 bytes sealing secrets at rest; else master.key in the data dir" },
    Setting { key: "public_url", default: "none", meaning: "base URL upstreams use to reach exsync's webhooks (https:// for Graph)" },
    Setting { key: "tls_cert", default: "none", meaning: "PEM certificate chain: serve HTTPS (with EXSYNC_TLS_KEY), reloaded on SIGHUP" },
    Setting { key: "tls_key", default: "none", meaning: "PEM private key of that certificate" },
    Setting { key: "log", default: "info", meaning: "log filter, e.g. exsync=debug,info" },
    Setting { key: "log_format", default: "text", meaning: "text or json (one object per line)" },
    Setting { key: "workers", default: "cores", meaning: "HTTP worker threads" },
    Setting { key: "tick_interval", default: "300", meaning: "seconds between each user's safety-net syncs" },
    Setting { key: "notified_tick_interval", default: "1800", meaning: "the same for users both upstreams notify (at most 43200)" },
    Setting { key: "graph_budget_requests", default: "10000", meaning: "Graph's request budget per app and mailbox" },
    Setting { key: "graph_budget_window", default: "600", meaning: "that budget's window, seconds" },
];

const KEY_NAMES: [&str; SETTINGS.len()] = {
    let mut names = [""; SETTINGS.len()];
    let mut i = 0;
    while i < SETTINGS.len() {
        names[i] = SETTINGS[i].key;
        i += 1;
    }
    names
};

/// The keys a file or the environment may set (env: `EXSYNC_` + upper case), from
/// [`SETTINGS`].
pub const KEYS: &[&str] = &KEY_NAMES;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The longest allowed `notified_tick_interval` (and `tick_interval`, once `public_url`
/// is set), seconds: Graph subscriptions are renewed by cycles, and the renewal margin is
/// derived from this cap ([`crate::engine::renewal`]).
pub const MAX_NOTIFIED_TICK_INTERVAL: u64 = crate::engine::renewal::MAX_TICK_INTERVAL_SECS;

/// The shortest `admin_token` accepted: a configured token guards every admin route, so it
/// must be as hard to guess as a generated one.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// The shortest `metrics_token` accepted: it guards the metrics against guessing as the
/// admin token guards the API.
pub const MIN_METRICS_TOKEN_CHARS: usize = 32;

/// Everything `exsync serve` needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on (`EXSYNC_BIND`).
    pub bind: SocketAddr,
    /// Directory for the database and the generated master key (`EXSYNC_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The admin token (`EXSYNC_ADMIN_TOKEN`); generated and printed once when unset.
    #[serde(default)]
    pub admin_token: Option<SecretString>,
    /// A read-only token accepted beside the admin token on `GET /metrics` only
    /// (`EXSYNC_METRICS_TOKEN`, at least [`MIN_METRICS_TOKEN_CHARS`] characters).
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
    /// Base64 of a 32-byte key sealing secrets at rest (`EXSYNC_MASTER_KEY`); a key file
    /// in the data directory otherwise.
    #[serde(default)]
    pub master_key: Option<SecretString>,
    /// The base URL upstreams use to reach exsync's webhooks (`EXSYNC_PUBLIC_URL`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// PEM certificate chain to serve HTTPS with, reloaded on SIGHUP (`EXSYNC_TLS_CERT`);
    /// plain HTTP when unset.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (`EXSYNC_TLS_KEY`).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// The log filter, e.g. `info` or `exsync=debug` (`EXSYNC_LOG`).
    pub log: String,
    /// `text` or `json` (`EXSYNC_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// HTTP worker threads; the number of cores when unset (`EXSYNC_WORKERS`).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Seconds between a user's periodic safety-net syncs, ±10 % jitter
    /// (`EXSYNC_TICK_INTERVAL`, default 300).
    pub tick_interval: u64,
    /// Seconds between the safety-net syncs of a user whose changes both upstreams notify
    /// (a live Graph subscription and the space's Pipeliner webhook; needs `public_url`),
    /// ±10 % jitter (`EXSYNC_NOTIFIED_TICK_INTERVAL`, default 1,800; never shorter than
    /// `tick_interval`).
    pub notified_tick_interval: u64,
    /// Graph's request budget per app and mailbox, requests per window
    /// (`EXSYNC_GRAPH_BUDGET_REQUESTS`, default 10,000); exsync paces each mailbox under it.
    pub graph_budget_requests: u32,
    /// The budget's window in seconds (`EXSYNC_GRAPH_BUDGET_WINDOW`, default 600).
    pub graph_budget_window: u64,
}

#[derive(Serialize)]
struct Defaults {
    bind: &'static str,
    data_dir: &'static str,
    log: &'static str,
    log_format: LogFormat,
    tick_interval: u64,
    notified_tick_interval: u64,
    graph_budget_requests: u32,
    graph_budget_window: u64,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` does not exist.
    #[error("the configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// A value is missing or has the wrong shape.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The layered sources: defaults, the file (if any), then the environment.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Defaults {
            bind: "127.0.0.1:8080",
            data_dir: "./data",
            log: "info",
            log_format: LogFormat::Text,
            tick_interval: 300,
            notified_tick_interval: 1800,
            graph_budget_requests: 10_000,
            graph_budget_window: 600,
        }));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed("EXSYNC_").only(KEYS))
    }

    /// Loads the configuration from the file (if any) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
        }
        Self::from_figment(Self::figment(file))
    }

    /// Extracts and checks a configuration from any set of sources.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(url) = &config.public_url {
            let parsed = reqwest::Url::parse(url).map_err(|e| {
                ConfigError::Invalid(format!("public_url {url:?} is not a valid URL: {e}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid(format!(
                    "public_url {url:?} must start with http:// or https://"
                )));
            }
        }
        crate::tls::TlsFiles::from_parts(config.tls_cert.clone(), config.tls_key.clone())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(token) = &config.admin_token {
            if token.expose_secret().trim().chars().count() < MIN_ADMIN_TOKEN_CHARS {
                return Err(ConfigError::Invalid(format!(
                    "admin_token (EXSYNC_ADMIN_TOKEN) must be at least {MIN_ADMIN_TOKEN_CHARS} \
                     characters (generate one with `openssl rand -hex 32`, or leave it unset \
                     and exsync generates and prints one on first start)"
                )));
            }
        }
        if let Some(token) = &config.metrics_token {
            if token.expose_secret().trim().chars().count() < MIN_METRICS_TOKEN_CHARS {
                return Err(ConfigError::Invalid(format!(
                    "metrics_token (EXSYNC_METRICS_TOKEN) must be at least \
                     {MIN_METRICS_TOKEN_CHARS} characters (generate one with \
                     `openssl rand -hex 32`)"
                )));
            }
        }
        if config.tick_interval == 0 || config.notified_tick_interval == 0 {
            return Err(ConfigError::Invalid(
                "tick_interval and notified_tick_interval must be at least 1 second".into(),
            ));
        }
        if config.notified_tick_interval > MAX_NOTIFIED_TICK_INTERVAL {
            return Err(ConfigError::Invalid(format!(
                "notified_tick_interval must be at most {MAX_NOTIFIED_TICK_INTERVAL} seconds \
                 (12 hours), so that each Graph subscription is renewed well before it expires"
            )));
        }
        if config.public_url.is_some() && config.tick_interval > MAX_NOTIFIED_TICK_INTERVAL {
            return Err(ConfigError::Invalid(format!(
                "tick_interval must be at most {MAX_NOTIFIED_TICK_INTERVAL} seconds (12 hours) \
                 when public_url is set: cycles renew the Graph subscriptions, and a user \
                 whose changes only Exchange notifies syncs at this interval"
            )));
        }
        if config.graph_budget_requests == 0 || config.graph_budget_window == 0 {
            return Err(ConfigError::Invalid(
                "graph_budget_requests and graph_budget_window must be at least 1".into(),
            ));
        }
        if config.workers == Some(0) {
            return Err(ConfigError::Invalid("workers must be at least 1".into()));
        }
        Ok(config)
    }
}

impl Config {
    /// The Graph request budget per mailbox the clients pace themselves under.
    pub fn budget(&self) -> MailboxBudget {
        MailboxBudget {
            requests: self.graph_budget_requests,
            window: Duration::from_secs(self.graph_budget_window),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_then_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "exsync.toml",
                "bind = \"127.0.0.1:9000\"\ndata_dir = \"/var/lib/exsync\"\nlog = \"debug\"\n",
            )?;
            jail.set_env("EXSYNC_LOG", "warn");
            jail.set_env("EXSYNC_ADMIN_TOKEN", "from-env-0123456789abcdef01234567");
            jail.set_env("EXSYNC_TICK_UNKNOWN", "ignored");
            let config = Config::load(Some(Path::new("exsync.toml"))).expect("loads");
            assert_eq!(config.bind, "127.0.0.1:9000".parse().unwrap());
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/exsync"));
            assert_eq!(config.log, "warn");
            assert_eq!(config.log_format, LogFormat::Text);
            assert_eq!(
                config.admin_token.as_ref().map(|t| t.expose_secret()),
                Some("from-env-0123456789abcdef01234567")
            );
            Ok(())
        });
    }

    #[test]
    fn defaults_alone_are_usable() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None).expect("loads");
            assert_eq!(config.bind, "127.0.0.1:8080".parse().unwrap());
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            assert!(config.admin_token.is_none());
            assert_eq!(config.budget(), MailboxBudget::default());
            assert_eq!(
                (config.tick_interval, config.notified_tick_interval),
                (300, 1800)
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_explained() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("EXSYNC_LOG_FORMAT", "xml");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("log_format"), "{err}");
            jail.set_env("EXSYNC_LOG_FORMAT", "json");
            jail.set_env("EXSYNC_PUBLIC_URL", "ftp://x");
            assert!(Config::load(None).is_err());
            jail.set_env("EXSYNC_PUBLIC_URL", "https://exsync.example");
            jail.set_env("EXSYNC_GRAPH_BUDGET_WINDOW", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("graph_budget_window"), "{err}");
            jail.set_env("EXSYNC_GRAPH_BUDGET_WINDOW", "600");
            jail.set_env("EXSYNC_NOTIFIED_TICK_INTERVAL", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("notified_tick_interval"), "{err}");
            jail.set_env("EXSYNC_NOTIFIED_TICK_INTERVAL", "43201");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("at most 43200"), "{err}");
            jail.set_env("EXSYNC_NOTIFIED_TICK_INTERVAL", "900");
            assert_eq!(Config::load(None).unwrap().notified_tick_interval, 900);
            jail.create_file("typo.toml", "bnid = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("typo.toml"))).is_err());
            assert!(matches!(
                Config::load(Some(Path::new("absent.toml"))),
                Err(ConfigError::MissingFile(_))
            ));
            Ok(())
        });
    }

    #[test]
    fn a_metrics_token_must_be_long() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("EXSYNC_METRICS_TOKEN", "short");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("metrics_token (EXSYNC_METRICS_TOKEN) must be at least 32"),
                "{err}"
            );
            let long = "m".repeat(MIN_METRICS_TOKEN_CHARS);
            jail.set_env("EXSYNC_METRICS_TOKEN", &long);
            let config = Config::load(None).expect("loads");
            assert_eq!(
                config.metrics_token.as_ref().map(|t| t.expose_secret()),
                Some(long.as_str())
            );
            Ok(())
        });
    }

    #[test]
    fn a_configured_admin_token_must_be_long() {
        figment::Jail::expect_with(|jail| {
            for short in ["a", &"t".repeat(MIN_ADMIN_TOKEN_CHARS - 1)] {
                jail.set_env("EXSYNC_ADMIN_TOKEN", short);
                let err = Config::load(None).unwrap_err().to_string();
                assert!(
                    err.contains("admin_token (EXSYNC_ADMIN_TOKEN) must be at least 32"),
                    "{err}"
                );
            }
            let long = "t".repeat(MIN_ADMIN_TOKEN_CHARS);
            jail.set_env("EXSYNC_ADMIN_TOKEN", &long);
            let config = Config::load(None).expect("loads");
            assert_eq!(
                config.admin_token.as_ref().map(|t| t.expose_secret()),
                Some(long.as_str())
            );
            Ok(())
        });
    }

    #[test]
    fn every_interval_a_subscribed_user_ticks_at_is_capped() {
        figment::Jail::expect_with(|jail| {
            let over = (MAX_NOTIFIED_TICK_INTERVAL + 1).to_string();
            jail.set_env("EXSYNC_TICK_INTERVAL", &over);
            jail.set_env("EXSYNC_NOTIFIED_TICK_INTERVAL", &over);
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("notified_tick_interval must be at most"),
                "{err}"
            );
            jail.set_env("EXSYNC_NOTIFIED_TICK_INTERVAL", "1800");
            assert!(
                Config::load(None).is_ok(),
                "without public_url there are no subscriptions to renew"
            );
            jail.set_env("EXSYNC_PUBLIC_URL", "https://exsync.example");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("tick_interval must be at most"), "{err}");
            jail.set_env(
                "EXSYNC_TICK_INTERVAL",
                MAX_NOTIFIED_TICK_INTERVAL.to_string(),
            );
            assert!(Config::load(None).is_ok());
            Ok(())
        });
    }
}
