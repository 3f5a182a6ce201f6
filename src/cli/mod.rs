//! The command line: `serve`, `render`, `check`, `migrate`.

mod app_events;
pub(crate) mod check;
pub(crate) mod eval;
pub(crate) mod log_format;
pub(crate) mod logging;
pub(crate) mod render;
pub mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use promptops_store::MigrationReport;

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
        Command::Serve(settings) => {
            report(crate::cli::serve::run(with_step_server(*settings)).await)
        }
        Command::Check(settings) => crate::cli::check::run(with_step_server(*settings)).await,
        Command::Migrate { database_url } => report(migrate(&database_url).await),
    }
}

/// The settings with this binary as the step server of Terraform runs (it answers
/// `promptops_terraform::step_server::STEP_SERVER_ARG`, see `main`).
fn with_step_server(mut settings: ServeSettings) -> ServeSettings {
    settings.terraform_step_server = std::env::current_exe().ok();
    settings
}

/// `promptops migrate`: opens the database (which applies pending migrations) and says
/// what that did.
async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let db = crate::config::redact_url(database_url);
    let store = promptops_store::Store::connect(database_url).await?;
    let what = match store.migrations() {
        MigrationReport::Created { migrations } => {
            format!("created the schema of database {db} ({migrations} migrations)")
        }
        MigrationReport::Upgraded { applied: 0, total } => {
            format!("database {db} is already up to date ({total} migrations)")
        }
        MigrationReport::Upgraded { applied, total } => format!(
            "applied {applied} migration{s} to database {db}; it is up to date ({total} migrations)",
            s = if applied == 1 { "" } else { "s" }
        ),
    };
    store.close().await;
    eprintln!("{what}");
    Ok(())
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
