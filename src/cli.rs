//! The command line: `exsync serve`, `exsync openapi`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Configuration comes from the optional TOML file, overridden by EXSYNC_BIND,
    /// EXSYNC_DATA_DIR, EXSYNC_ADMIN_TOKEN, EXSYNC_MASTER_KEY, EXSYNC_PUBLIC_URL,
    /// EXSYNC_LOG, EXSYNC_LOG_FORMAT and EXSYNC_WORKERS. Stops gracefully on SIGINT or
    /// SIGTERM.
    Serve {
        /// A TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI document of the admin API to standard output.
    Openapi,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Openapi => {
            print!("{}", crate::http::openapi_json());
            ExitCode::SUCCESS
        }
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
        Err(e) => return fail(format!("cannot listen on {}: {e}", config.bind)),
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
