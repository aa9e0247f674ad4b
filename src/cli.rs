//! The command line: `exsync serve`, `exsync openapi`, `exsync demo`, `exsync sim`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;

/// exsync keeps Exchange contact folders in sync with Pipeliner CRM contacts.
#[derive(Debug, Parser)]
#[command(name = "exsync", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync engine and the admin API.
    ///
    /// Configuration comes from built-in defaults, then the optional TOML file, then the
    /// environment variables listed below; later sources win. Serves HTTPS when
    /// EXSYNC_TLS_CERT and EXSYNC_TLS_KEY name PEM files, and reloads them on SIGHUP.
    /// Stops gracefully on SIGINT or SIGTERM.
    Serve {
        /// A TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI document of the admin API to standard output.
    Openapi,
    /// Run exsync against built-in simulators of Graph and Pipeliner, with sample data
    /// and two syncing users; prints the Swagger UI address and the admin token.
    Demo {
        /// Where exsync listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Keep exsync's data here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Seed of the sample data and the simulators.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run the Graph and Pipeliner simulators alone, for tests and experiments; seed them
    /// through their control APIs (`/_sim/graph`, `/_sim/pipeliner`).
    Sim {
        /// Where the Graph simulator listens (Graph root `/v1.0`, sign-in `/{tenant}/oauth2/v2.0/token`).
        #[arg(long, default_value = "127.0.0.1:4100")]
        graph_bind: SocketAddr,
        /// Where the Pipeliner simulator listens.
        #[arg(long, default_value = "127.0.0.1:4200")]
        pipeliner_bind: SocketAddr,
        /// Seed of generated ids and fault decisions.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// The command line's definition: the derived one, with `serve --help` listing every
/// environment variable from [`crate::config::SETTINGS`], the list the loader accepts.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("serve", |serve| serve.after_help(environment_help()))
}

/// The environment variables `serve` reads, one a line with meaning and default.
pub fn environment_help() -> String {
    let settings = crate::config::SETTINGS;
    let width = settings
        .iter()
        .map(|s| s.variable().len())
        .max()
        .unwrap_or(0);
    let mut help = String::from(
        "Environment variables (a file key is the name without EXSYNC_, in lower case):\n",
    );
    for setting in settings {
        help.push_str(&format!(
            "  {:width$}  {} [default: {}]\n",
            setting.variable(),
            setting.meaning,
            setting.default
        ));
    }
    help
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Openapi => {
            print!("{}", crate::http::openapi_json());
            ExitCode::SUCCESS
        }
        Command::Demo {
            bind,
            data_dir,
            seed,
        } => demo(bind, data_dir, seed),
        Command::Sim {
            graph_bind,
            pipeliner_bind,
            seed,
        } => sim(graph_bind, pipeliner_bind, seed),
    }
}

fn log_filter() -> String {
    std::env::var("EXSYNC_LOG").unwrap_or_else(|_| "info".into())
}

fn demo(bind: SocketAddr, data_dir: Option<PathBuf>, seed: u64) -> ExitCode {
    let log = log_filter();
    if let Err(e) = crate::demo::quiet::init(&log) {
        return fail(e);
    }
    let options = crate::demo::DemoOptions {
        bind,
        data_dir,
        seed,
        log,
    };
    match actix_web::rt::System::new().block_on(crate::demo::run(options, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn sim(graph_bind: SocketAddr, pipeliner_bind: SocketAddr, seed: u64) -> ExitCode {
    if let Err(e) = crate::telemetry::init(&log_filter(), crate::config::LogFormat::Text) {
        return fail(e);
    }
    let run = async move {
        use crate::sim::graph::{GraphSim, GraphSimConfig};
        use crate::sim::pipeliner::{PipelinerSim, PipelinerSimConfig};
        let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
        let graph = GraphSim::new(GraphSimConfig {
            seed,
            clock: clock.clone(),
        })
        .start(TcpListener::bind(graph_bind)?)
        .await?;
        let pipeliner = PipelinerSim::new(PipelinerSimConfig { seed, clock })
            .start(TcpListener::bind(pipeliner_bind)?)
            .await?;
        println!(
            "Graph simulator:     {} (sign-in root {}, control {}/_sim/graph)\nPipeliner simulator: {} (control {}/_sim/pipeliner)\nPress Ctrl-C to stop.",
            graph.graph_url(),
            graph.login_url(),
            graph.login_url(),
            pipeliner.service_url(),
            pipeliner.service_url()
        );
        shutdown_signal().await;
        graph.stop().await;
        pipeliner.stop().await;
        Ok::<_, std::io::Error>(())
    };
    match actix_web::rt::System::new().block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("the simulators could not start: {e}")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("exsync: {message}");
    ExitCode::FAILURE
}

fn serve(file: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(file.as_deref()) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    if let Err(e) = crate::telemetry::init(&config.log, config.log_format) {
        return fail(e);
    }
    let listener = match TcpListener::bind(config.bind) {
        Ok(listener) => listener,
        Err(e) => {
            return fail(crate::app::bind_failed(config.bind, &e, &|a| {
                format!("EXSYNC_BIND={a}")
            }))
        }
    };
    let result =
        actix_web::rt::System::new().block_on(crate::app::run(config, listener, shutdown_signal()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops exsync");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::bind_failed;

    #[test]
    fn a_taken_address_is_named_with_the_setting_to_change() {
        let address: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let taken = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let message = bind_failed(address, &taken, &|a| format!("EXSYNC_BIND={a}"));
        assert!(
            message.starts_with("cannot listen on 127.0.0.1:8080: "),
            "{message}"
        );
        assert!(
            message.contains("e.g. EXSYNC_BIND=127.0.0.1:8081"),
            "{message}"
        );
        assert!(
            message.contains("EXSYNC_BIND=127.0.0.1:0 for any free port"),
            "{message}"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let message = bind_failed(address, &denied, &|a| format!("--bind {a}"));
        assert!(
            !message.contains("--bind"),
            "only a taken address suggests another: {message}"
        );
    }

    #[test]
    fn serve_help_lists_every_setting() {
        let help = command()
            .find_subcommand_mut("serve")
            .expect("serve")
            .render_help()
            .to_string();
        for setting in crate::config::SETTINGS {
            assert!(help.contains(&setting.variable()), "{help}");
        }
    }
}
