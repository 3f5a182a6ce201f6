//! Turns a plain-language request into a validated `DeploymentRequest`: an OpenAI planner
//! (chat completions with structured outputs) and an offline rule-based planner. Both go
//! through promptops-core's `resolve` (catalog and policy) and through `mentions`, which
//! holds the planners to every value the user wrote explicitly.
//!
//! This crate never talks to GitHub, the store or Terraform: the model's side of the house
//! has no door to the infrastructure.

mod chat;
mod choose;
pub mod corpus;
mod edit;
mod error;
pub mod explain;
pub mod extract;
mod fit;
pub mod lifetime;
pub mod mentions;
pub mod message;
pub mod observe;
mod offline;
mod openai;
pub mod prompt;
mod retry;
pub mod schema;
pub mod screen;

use std::sync::Arc;
use std::time::Duration;

use promptops_core::{Catalog, DeploymentRequest, Policy};
use secrecy::SecretString;
use serde::Serialize;

pub use error::PlanError;
pub use explain::{
    ExplainFailure, ExplainOutcome, ModelExplainer, NoModelExplainer, PlanExplainer, explainer_for,
};
pub use observe::{
    ModelRequestObservation, ModelRequestResult, NoObserver, PlanObservation, PlanResult,
    PlannerKind, PlannerObserver,
};
pub use offline::OfflinePlanner;
pub use openai::OpenAiPlanner;
pub use promptops_core::clock::{Clock, SystemClock};
pub use retry::{RetryPolicy, parse_retry_after};
pub use screen::{Refusal, RefusalKind};

/// A GPT-4-family model with structured outputs.
pub const DEFAULT_MODEL: &str = "gpt-4o-2024-08-06";
/// OpenAI's API; any OpenAI-compatible server can be used instead.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// How many times one model call is tried before giving up.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// How long one model call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// `PlanOutcome::planned_by` of the offline planner.
pub const OFFLINE_PLANNER: &str = "offline planner";

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub title: String,
    pub body: String,
    /// Extra text of the `/promptops plan ...` comment; overrides the issue where they differ.
    pub instructions: String,
    /// The deployment's current values when the request edits an existing one.
    pub current: Option<DeploymentRequest>,
}

/// Tokens a model call consumed (summed over the first answer and the repair turn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// A validated plan and where it came from.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub request: DeploymentRequest,
    /// "offline planner" or "model <name>".
    pub planned_by: String,
    /// Token usage of model calls; `None` for the offline planner.
    pub usage: Option<TokenUsage>,
    /// Remarks for the pull request text (how counts were read, a repaired first answer).
    pub notes: Vec<String>,
    /// What the request asks for that the plan does not hold ("spot", "ubuntu 22.04"), one
    /// sentence each; also among `request.assumptions`, so that every place showing the plan
    /// shows them.
    pub ignored: Vec<String>,
    /// How long the request says the deployment is needed, as read (checked against the
    /// repository's maximum by the service, which knows it and the time).
    pub expiry: Option<promptops_core::ExpiryRequest>,
}

/// How to reach the model. Without an API key the offline planner is used.
#[derive(Debug, Clone)]
pub struct PlannerSettings {
    pub api_key: Option<SecretString>,
    pub base_url: String,
    pub model: String,
    /// Per model call.
    pub timeout: Duration,
    /// Per model call, including the first try.
    pub max_attempts: u32,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        PlannerSettings {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

#[derive(Debug)]
pub enum Planner {
    Offline(OfflinePlanner),
    OpenAi(OpenAiPlanner),
}

impl Planner {
    /// The OpenAI planner when an API key is set, else the offline planner.
    pub fn from_settings(settings: PlannerSettings) -> Planner {
        Planner::with_retry_policy(settings, RetryPolicy::default())
    }

    /// As `from_settings`, with the model client's wait policy between attempts
    /// (backoff steps, the cap on any wait, the clock for HTTP-date `Retry-After`).
    pub fn with_retry_policy(settings: PlannerSettings, retry: RetryPolicy) -> Planner {
        match settings.api_key.clone() {
            Some(key) => Planner::OpenAi(OpenAiPlanner::new(&settings, key, retry)),
            None => Planner::Offline(OfflinePlanner::new()),
        }
    }

    /// Reports every plan (and, for the model planner, every request to the model API and
    /// every retry) to `observer`.
    pub fn with_observer(self, observer: Arc<dyn PlannerObserver>) -> Planner {
        match self {
            Planner::Offline(planner) => Planner::Offline(planner.with_observer(observer)),
            Planner::OpenAi(planner) => Planner::OpenAi(planner.with_observer(observer)),
        }
    }

    /// Which kind of planner this is.
    pub fn kind(&self) -> PlannerKind {
        match self {
            Planner::Offline(_) => PlannerKind::Offline,
            Planner::OpenAi(_) => PlannerKind::Model,
        }
    }

    /// What `PlanOutcome::planned_by` will say.
    pub fn describe(&self) -> String {
        match self {
            Planner::Offline(_) => OFFLINE_PLANNER.to_owned(),
            Planner::OpenAi(planner) => planner.describe(),
        }
    }

    pub async fn plan(
        &self,
        input: &PlanInput,
        catalog: &Catalog,
        policy: &Policy,
    ) -> Result<PlanOutcome, PlanError> {
        match self {
            Planner::Offline(planner) => planner.plan(input, catalog, policy),
            Planner::OpenAi(planner) => planner.plan(input, catalog, policy).await,
        }
    }
}
