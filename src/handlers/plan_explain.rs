//! The explanation under a plan comment's headline: the plan's facts against the
//! deployment as applied (the default branch's variables, or none for a new deployment),
//! with the cost before and after from the catalog; then the model's explanation of those
//! facts when a model is configured. Best effort throughout: what cannot be read is said
//! to be unknown, and a model failure is one line, never a failed plan.

use promptops_core::DeploymentRequest;
use promptops_planner::ExplainOutcome;
use promptops_terraform::comment::{Explanation, ModelNote};
use promptops_terraform::plan_facts::{Applied, Baseline, PlanFacts};
use promptops_terraform::{PlanOutcome, PlanReport};
use tracing::warn;

use super::vars_check::{self, Vars};
use super::{Handlers, RepoCtx};
use crate::http::metrics::ExplanationSource;
use crate::repo_config::RepoConfig;

/// The explanation of `report` (none for a failed plan: there is nothing to explain).
/// `requested`: the variables the plan was made with, as `vars_check` read and checked
/// them (none for a destroy plan); `before`: the deployment as applied, read by
/// [`applied`] while Terraform planned.
pub(super) async fn explain(
    h: &Handlers,
    report: &PlanReport,
    requested: Option<&DeploymentRequest>,
    before: Applied,
) -> Option<Explanation> {
    if report.outcome == PlanOutcome::Failed {
        return None;
    }
    let after_cost = requested
        .filter(|_| !report.destroy)
        .and_then(|request| h.catalog.try_estimate(request));
    let facts = PlanFacts::of(report, &Baseline { before, after_cost });
    h.metrics
        .explanations
        .record(ExplanationSource::Deterministic, "written");
    let model = match h.explainer.explain(&facts.model_input()).await {
        ExplainOutcome::NoModel => ModelNote::NotConfigured,
        ExplainOutcome::Written { model, text } => {
            h.metrics
                .explanations
                .record(ExplanationSource::Model, "written");
            ModelNote::Written { model, text }
        }
        ExplainOutcome::Failed(failure) => {
            h.metrics
                .explanations
                .record(ExplanationSource::Model, failure.label());
            let reason = failure.to_string();
            // The reason is the service's own words, masked all the same.
            let reason = match h.terraform.as_ref() {
                Some(runner) => runner.masker().mask_str(&reason),
                None => reason,
            };
            ModelNote::Unavailable(reason)
        }
    };
    Some(Explanation { facts, model })
}

/// The deployment as applied: its variables on the default branch and their cost. Read
/// while Terraform plans: it does not depend on the plan, and its two GitHub round trips
/// then add nothing to the time until the plan comment.
pub(super) async fn applied(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
) -> Applied {
    let branch = match repo.default_branch().await {
        Ok(branch) => branch,
        Err(err) => {
            warn!(error = %format!("{err:#}"), "the default branch is unknown; the plan's cost before is shown as unknown");
            return Applied::Unknown(format!("{err:#}"));
        }
    };
    let path = config.terraform.tfvars_path(deployment);
    match vars_check::read(h, repo, config, deployment, &branch).await {
        Ok(Vars::Missing) => Applied::New,
        Ok(Vars::Valid(request)) => Applied::Deployed {
            cost: h.catalog.try_estimate(&request),
            variables: request_variables(&request),
        },
        Ok(Vars::Invalid(problems)) => {
            Applied::Unknown(format!("{path} at {branch} breaks the rules: {problems}"))
        }
        Err(err) => Applied::Unknown(format!("{err:#}")),
    }
}

/// The request variables as the plan JSON names them, for comparison with the plan's.
fn request_variables(request: &DeploymentRequest) -> std::collections::BTreeMap<String, String> {
    [
        ("vm_count", request.vm_count.to_string()),
        ("machine_type", request.machine_type.clone()),
        ("gpu_type", request.gpu_type.clone()),
        ("gpu_count", request.gpu_count.to_string()),
        ("zone", request.zone.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}
