//! Opening a fresh store on each backend for one test, with a clock the test moves by hand.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use promptops_store::{Store, StoreOptions};
pub use promptops_testkit::ManualClock;

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
                    clock: ManualClock::fixed(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => TestDb {
                url: promptops_testkit::postgres::fresh_database("promptops_test"),
                clock: ManualClock::fixed(),
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

pub fn repo(full_name: &str) -> RepoName {
    full_name.parse().expect("a repository name")
}

pub const fn pr(number: u64) -> PrNumber {
    PrNumber::new(number)
}

pub const fn issue(number: u64) -> IssueNumber {
    IssueNumber::new(number)
}

/// A full SHA made of one repeated hex digit.
pub fn sha(digit: char) -> CommitSha {
    digit.to_string().repeat(40).parse().expect("a commit SHA")
}

pub fn test_options() -> StoreOptions {
    StoreOptions {
        max_attempts: 3,
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(600),
        ..StoreOptions::default()
    }
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
