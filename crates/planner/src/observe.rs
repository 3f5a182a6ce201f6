//! What the planners report for monitoring: every plan (which planner, how it ended, how
//! long it took), every HTTP request to the model API (how it ended, its latency, the tokens
//! it consumed) and every retry. The service turns these into metrics; this crate only calls
//! the hook, so it knows nothing about how they are exported.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{PlanError, PlanOutcome, TokenUsage};

/// Receives the planners' observations. Every method has an empty default, so an observer
/// implements only what it records. Called inline on the planning task: keep it cheap
/// (counters, histograms), never blocking.
pub trait PlannerObserver: Send + Sync {
    /// One plan finished, offline or through the model.
    fn plan_finished(&self, _plan: &PlanObservation) {}
    /// One HTTP request to the model API finished (each attempt of a call is one request).
    fn model_request(&self, _request: &ModelRequestObservation) {}
    /// A failed model request is sent again after `wait`.
    fn model_retry(&self, _wait: Duration) {}
}

/// The observer of a planner that nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl PlannerObserver for NoObserver {}

/// Which planner made a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlannerKind {
    Offline,
    Model,
}

impl PlannerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlannerKind::Offline => "offline",
            PlannerKind::Model => "model",
        }
    }
}

/// How a plan ended, in the few classes an operator tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanResult {
    /// A validated deployment request.
    Ok,
    /// The request could not be planned as asked (validation, unknown or ambiguous names, a
    /// plan contradicting the request): the user has to change it.
    Rejected,
    /// The model API could not be reached or refused the call.
    Unreachable,
    /// The model answered with something that is not a usable plan.
    Unusable,
}

impl PlanResult {
    pub const ALL: [PlanResult; 4] = [
        PlanResult::Ok,
        PlanResult::Rejected,
        PlanResult::Unreachable,
        PlanResult::Unusable,
    ];

    pub fn of(result: &Result<PlanOutcome, PlanError>) -> PlanResult {
        match result {
            Ok(_) => PlanResult::Ok,
            Err(
                PlanError::Rejected(_)
                | PlanError::UnknownMention(_)
                | PlanError::AmbiguousMention(_)
                | PlanError::MismatchWithRequest(_)
                | PlanError::NotARequest(_),
            ) => PlanResult::Rejected,
            Err(PlanError::ModelUnreachable(_)) => PlanResult::Unreachable,
            Err(PlanError::ModelOutputUnusable(_)) => PlanResult::Unusable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlanResult::Ok => "ok",
            PlanResult::Rejected => "rejected",
            PlanResult::Unreachable => "unreachable",
            PlanResult::Unusable => "unusable",
        }
    }
}

/// One finished plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanObservation {
    pub planner: PlannerKind,
    pub result: PlanResult,
    /// Wall time of the whole plan (model calls, the repair turn and validation included).
    pub latency: Duration,
}

/// How one HTTP request to the model API ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelRequestResult {
    /// A 2xx answer (whether or not its content is a usable plan).
    Answered,
    /// 429: rate limited or out of quota.
    RateLimited,
    /// A 5xx answer.
    ServerError,
    /// Another 4xx answer (bad key, unknown model, an unsupported parameter).
    ClientError,
    /// No answer: timeout, connection refused or dropped.
    Transport,
}

impl ModelRequestResult {
    pub const ALL: [ModelRequestResult; 5] = [
        ModelRequestResult::Answered,
        ModelRequestResult::RateLimited,
        ModelRequestResult::ServerError,
        ModelRequestResult::ClientError,
        ModelRequestResult::Transport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelRequestResult::Answered => "answered",
            ModelRequestResult::RateLimited => "rate_limited",
            ModelRequestResult::ServerError => "server_error",
            ModelRequestResult::ClientError => "client_error",
            ModelRequestResult::Transport => "transport",
        }
    }
}

/// One HTTP request to the model API.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequestObservation {
    pub result: ModelRequestResult,
    pub latency: Duration,
    /// The tokens the answer says it consumed (answered requests that report usage).
    pub usage: Option<TokenUsage>,
}

/// A shared observer, printable so that the planners keep deriving `Debug`.
#[derive(Clone)]
pub(crate) struct Observer(pub Arc<dyn PlannerObserver>);

impl Default for Observer {
    fn default() -> Self {
        Observer(Arc::new(NoObserver))
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}
