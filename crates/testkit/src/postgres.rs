//! A fresh, uniquely named database per test on the PostgreSQL server that
//! `scripts/start-postgres.sh` starts (named by `PROMPTOPS_TEST_POSTGRES_URL`).

use std::process::Command;

/// The variable naming the server's admin URL.
pub const POSTGRES_ENV: &str = "PROMPTOPS_TEST_POSTGRES_URL";

/// Creates a database named `<prefix>_<pid>_<random>` with `psql` and returns its URL.
pub fn fresh_database(prefix: &str) -> String {
    let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: the PostgreSQL tests need a server. \
             Start one with `eval \"$(bash scripts/start-postgres.sh)\"` (scripts/test.sh does this)."
        )
    });
    let name = format!("{prefix}_{}_{}", std::process::id(), fastrand::u64(..));
    let output = Command::new("psql")
        .arg(&admin_url)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "running psql (the PostgreSQL client, needed to create the test database): {err}"
            )
        });
    assert!(
        output.status.success(),
        "CREATE DATABASE {name} on {POSTGRES_ENV}={admin_url} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut url = url::Url::parse(&admin_url)
        .unwrap_or_else(|err| panic!("{POSTGRES_ENV}={admin_url} is not a URL: {err}"));
    url.set_path(&name);
    url.to_string()
}
