//! What an operator gets for a bad or risky setting, through the real binary: `check`
//! changes nothing and says what `serve` or `migrate` would meet; each error names the
//! setting, file or database at fault, and its cause once.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::support::sign_in_flow::{check, line};

/// Every entry of `dir` with its length and permissions.
fn listing(dir: &std::path::Path) -> Vec<(String, u64, u32)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.permissions().mode(),
            )
        })
        .collect();
    entries.sort();
    entries
}

fn migrate(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_promptops"))
        .args(["migrate", "--database-url", url])
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn check_reports_pending_migrations_and_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.db");
    // An empty file is an empty SQLite database, someone else's as far as `check` knows.
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = listing(dir.path());
    let db = format!("sqlite://{}", file.display());

    let (_, report) = check(&[("DATABASE_URL", &db)]);
    let database = line(&report, "database");
    assert!(database.starts_with("warning  database: "), "{report}");
    assert!(
        database.contains("migrations pending: run `promptops migrate`"),
        "{report}"
    );
    assert_eq!(
        listing(dir.path()),
        before,
        "no schema, no mode 0600, no log files"
    );

    assert!(migrate(&db).status.success());
    let (_, report) = check(&[("DATABASE_URL", &db)]);
    assert!(
        line(&report, "database").contains("(sqlite): schema up to date"),
        "{report}"
    );
}

#[test]
fn a_database_that_cannot_be_created_is_named_with_its_cause_once() {
    // No one, root included, may create files under /sys.
    let output = migrate("sqlite:///sys/promptops-test/p.db");
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.starts_with("promptops: cannot create the directory of the sqlite database /sys/promptops-test/p.db: "),
        "{error}"
    );
    assert_eq!(error.matches("(os error").count(), 1, "{error}");
}
