//! The database line of `promptops check`: whether the database answers and what its
//! schema lacks, learnt without changing it (no migration runs, no file is created or has
//! its permissions narrowed: `promptops migrate` and `promptops serve` do that).

use std::path::Path;

use promptops_store::{ConnectOptions, SchemaState};

use super::{Report, Status};
use crate::config::{ServeSettings, redact_url};

const WHAT: &str = "database";

pub(super) async fn database_line(report: &mut Report, settings: &ServeSettings) {
    let url = settings.database_url.as_str();
    let db = redact_url(url);
    if let Err(err) = settings.durable_database() {
        report.line(Status::Missing, WHAT, format!("{err:#}"));
        return;
    }
    if let Some(file) = settings.sqlite_database_file()
        && let Err(problem) = sqlite_writable(&file)
    {
        report.line(Status::Missing, WHAT, format!("{db}: {problem}"));
        return;
    }
    if let Some(file) = settings.sqlite_database_file()
        && !file.exists()
    {
        report.line(
            Status::Ok,
            WHAT,
            format!(
                "{db}: {} does not exist yet; `promptops migrate` or the first `promptops serve` creates it",
                file.display()
            ),
        );
        return;
    }
    match promptops_store::inspect(url, &ConnectOptions::default()).await {
        Ok(found) => {
            let (status, schema) = schema_detail(&found.state);
            report.line(status, WHAT, format!("{db} ({}): {schema}", found.backend));
        }
        Err(err) => report.line(Status::Missing, WHAT, format!("{db}: {err}")),
    }
}

/// How the schema compares with this version's migrations. Pending ones are no failure
/// (`serve` applies them at start), but an operator may want to apply them deliberately.
fn schema_detail(state: &SchemaState) -> (Status, String) {
    match *state {
        SchemaState::Migrated {
            applied,
            pending: 0,
            unknown: 0,
        } => (
            Status::Ok,
            format!("schema up to date ({applied} migrations)"),
        ),
        SchemaState::Migrated { unknown, .. } if unknown > 0 => (
            Status::Missing,
            format!(
                "{} applied by a newer PromptOps that this version does not know: it would refuse to start on this database; run the newer release",
                migrations(unknown)
            ),
        ),
        SchemaState::Migrated { pending, .. } => (
            Status::Warn,
            format!(
                "{} pending: run `promptops migrate` (`promptops serve` would apply them at start)",
                migrations(pending)
            ),
        ),
        SchemaState::Unmigrated {
            pending,
            other_tables: 0,
        } => (
            Status::Warn,
            format!(
                "no PromptOps schema yet; {} pending: run `promptops migrate`",
                migrations(pending)
            ),
        ),
        SchemaState::Unmigrated {
            pending,
            other_tables,
        } => (
            Status::Warn,
            format!(
                "holds {other_tables} table{} of something else and no PromptOps schema (is DATABASE_URL the right database?); {} pending: run `promptops migrate` to add PromptOps's tables to it",
                if other_tables == 1 { "" } else { "s" },
                migrations(pending)
            ),
        ),
    }
}

fn migrations(n: u64) -> String {
    match n {
        1 => "1 migration".to_owned(),
        n => format!("{n} migrations"),
    }
}

/// Whether `migrate` and `serve` could write the SQLite database `file`: create it (and
/// the directories it lacks), or open it for writing, and create the write-ahead log
/// beside it. Tried with a file that has no name (O_TMPFILE; where that is not supported,
/// one removed at once), so nothing appears in the directory.
fn sqlite_writable(file: &Path) -> Result<(), String> {
    let parent = file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(existing) = parent.ancestors().find(|dir| dir.exists()) else {
        return Err(format!("no directory of {} exists", file.display()));
    };
    if !existing.is_dir() {
        return Err(format!(
            "{} cannot be created: {} is not a directory",
            file.display(),
            existing.display()
        ));
    }
    let what = if existing == parent {
        "the directory"
    } else {
        "the nearest existing directory"
    };
    tempfile::tempfile_in(existing).map_err(|err| {
        format!(
            "{} cannot be created: {what} {} is not writable by this user ({err})",
            file.display(),
            existing.display()
        )
    })?;
    if file.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .map_err(|err| format!("{} cannot be written: {err}", file.display()))?;
    }
    Ok(())
}
