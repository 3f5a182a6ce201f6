//! Terraform runner (init/plan/show/apply in per-run work dirs, timeouts, masking) and plan
//! comment rendering.
//!
//! [`Runner`] runs terraform for one deployment at a time (per deployment) and at most
//! [`RunnerConfig::max_concurrent_runs`] runs overall; [`comment`] turns its reports into
//! GitHub comments that fit the 65,536-character limit.

pub mod aap_job;
pub mod capture;
mod cli_config;
pub mod comment;
mod config;
pub mod environment;
pub mod error;
pub mod findings;
pub mod invocation;
mod keyed_lock;
pub mod mask;
pub mod plan_facts;
pub mod plan_json;
mod plugin_cache_lock;
mod private_files;
mod process;
pub mod report;
pub mod run_logs;
mod runner;
pub mod sandbox;
pub mod source;
pub mod spec;
pub mod step_server;
mod summary;
pub mod version;

pub use capture::{OutputLimits, RunOutput};
pub use error::RunnerError;
pub use findings::{OpenFirewall, OutputChange, PlanFindings};
pub use invocation::{ActionAddress, Invocation, ResourceAddress};
pub use mask::Masker;
pub use report::{
    ActionInvocation, ApplyOutcome, ApplyReport, ChangeAction, ChangeCounts, FailureReason,
    OutputValue, PlanOutcome, PlanReport, ResourceChange, StepFailure,
};
pub use run_logs::{LogRetention, PrunedLogs, prune_run_logs};
pub use runner::{Reservation, RunEnd, RunPurpose, Runner, RunnerConfig};
pub use sandbox::{SandboxConfig, SandboxMode};
pub use source::SourceLimits;
pub use spec::{PlanMode, PlanSpec, Source};
pub use version::{ACTIONS_MIN_VERSION, TerraformVersion, VersionRequirement};
