//! Opening a fresh store on each backend for one test, and a clock the test moves by hand.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use promptops_store::{Clock, Store, StoreOptions};
use sqlx::Connection;

pub const POSTGRES_ENV: &str = "PROMPTOPS_TEST_POSTGRES_URL";

#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        )))
    }
    /// `now` as the store keeps it: whole microseconds.
    pub fn now_rounded(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.now().timestamp_micros()).unwrap()
    }
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += chrono::Duration::from_std(by).unwrap();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store on an empty database of its own, plus what it needs to stay alive.
pub struct TestDb {
    pub url: String,
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                TestDb {
                    url,
                    clock: ManualClock::new(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => TestDb {
                url: fresh_postgres_database().await,
                clock: ManualClock::new(),
                _dir: None,
            },
        }
    }

    pub async fn open(&self, options: StoreOptions) -> Store {
        Store::connect_with(&self.url, options, Arc::new(self.clock.clone()))
            .await
            .unwrap_or_else(|err| panic!("opening {}: {err}", self.url))
    }
}

pub fn test_options() -> StoreOptions {
    StoreOptions {
        max_attempts: 3,
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(600),
        ..StoreOptions::default()
    }
}

/// Creates a uniquely named database on the server named by PROMPTOPS_TEST_POSTGRES_URL and
/// returns its URL.
async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: the PostgreSQL store tests need a server. \
             Start one with `eval \"$(bash scripts/start-postgres.sh)\"` (scripts/test.sh does this)."
        )
    });
    let name = format!(
        "promptops_test_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| panic!("connecting to {POSTGRES_ENV}={admin_url}: {err}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|err| panic!("CREATE DATABASE {name}: {err}"));
    admin.close().await.ok();
    let mut url = url::Url::parse(&admin_url).expect("PROMPTOPS_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Generates one test per backend for each named `async fn(Backend)` of the calling file.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
