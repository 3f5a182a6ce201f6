//! The command line: `serve`, `render`, `check`, `migrate`.

pub(crate) mod check;
pub(crate) mod eval;
pub(crate) mod log_format;
pub(crate) mod render;
pub mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::ServeSettings;
use eval::EvalArgs;
use render::RenderArgs;

#[derive(Debug, Parser)]
#[command(
    name = "promptops",
    version,
    about = "Plain-language GPU VM requests to reviewed, applied Terraform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GitHub App service: webhooks, queue and workers.
    Serve(Box<ServeSettings>),
    /// Plan one request and print the rendered terraform.tfvars (no side effects).
    Render(RenderArgs),
    /// Score a planner on a labelled corpus of requests (JSON lines).
    Eval(EvalArgs),
    /// Verify configuration, terraform, database and GitHub App credentials.
    Check(Box<ServeSettings>),
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://promptops.db")]
        database_url: String,
    },
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Render(args) => crate::cli::render::run(args).await,
        Command::Eval(args) => crate::cli::eval::run(args).await,
        Command::Serve(settings) => report(crate::cli::serve::run(*settings).await),
        Command::Check(settings) => crate::cli::check::run(*settings).await,
        Command::Migrate { database_url } => report(
            promptops_store::Store::connect(&database_url)
                .await
                .map(|_| {
                    eprintln!(
                        "database {} is up to date",
                        crate::config::redact_url(&database_url)
                    )
                })
                .map_err(anyhow::Error::from),
        ),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("promptops: {err:#}");
            ExitCode::FAILURE
        }
    }
}
