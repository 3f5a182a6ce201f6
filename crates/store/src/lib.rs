//! Durable store: deliveries, job queue with leases and backoff, runs, locks, requests.
//! SQLite (default, one machine) and PostgreSQL (several replicas), same behaviour.
//!
//! - Deliveries and the jobs they imply are written in one transaction, group-committed
//!   by a writer task ([`Store::record_delivery`]).
//! - Jobs are claimed with a lease ([`Store::claim`]); an expired lease makes the job
//!   claimable again; only the lease holder can finish it.
//! - Each service process registers and heartbeats ([`Store::register_process`]); the
//!   leases of a process known to be gone end early ([`Store::take_over_process`]).
//! - The commits the App made are recorded by SHA ([`Store::record_app_commit`]): GitHub's
//!   attribution of a commit to the App's login can be forged by whoever pushes.
//! - Time comes from the caller (`now` arguments) or an injected [`Clock`].

mod app_commits;
mod backend;
mod clock;
mod comments;
mod drift;
mod error;
mod expiries;
mod github_columns;
mod group_commit;
#[cfg(feature = "test-support")]
mod inspect;
mod locks;
mod model;
mod processes;
mod queue;
mod request_details;
mod requests;
mod run_kind;
mod runs;
mod schema;
mod sqlite_batch;
mod sqlite_writer;
mod store;
mod write_health;

pub use backend::{ConnectOptions, MigrationReport, SqliteDurability, is_in_memory};
pub use clock::{Clock, SystemClock};
pub use drift::DriftCheckRecord;
pub use error::{FileAction, Result, StoreError};
pub use expiries::ExpiryRecord;
pub use model::{
    Delivery, DeliveryRecord, FailOutcome, Job, JobStatus, Lock, LockOutcome, NewJob, NewRun,
    QueueStats, RecordOutcome, RequestRecord, Run, RunFilter, RunStatus,
};
pub use processes::ProcessRecord;
pub use request_details::RequestDetails;
pub use run_kind::RunKind;
pub use schema::{SchemaInspection, SchemaState, inspect};
pub use store::{Store, StoreOptions};
