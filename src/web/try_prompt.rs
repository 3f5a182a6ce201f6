//! "Try a prompt": one prompt through the configured planner, the default policy, the
//! tfvars renderer and the cost estimate — the same steps as `promptops render`, shown
//! on a page. Nothing is stored, committed or posted.
//!
//! It belongs to no repository, but the planner's model bills the operator per token: so
//! someone signed in with GitHub uses it only with, on at least one repository PromptOps
//! serves, that repository's `permissions.min_permission` (see `repo_access`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use promptops_core::{Policy, RenderContext, render_tfvars};
use promptops_planner::PlanInput;
use promptops_planner::message::{Audience, explain};
use serde::Deserialize;

use super::Dashboard;
use super::access::Viewer;
use super::csrf::FormToken;
use super::html::{escape, page, unavailable};
use super::repo_access::refused;
use super::try_limit::OverLimit;
use crate::repo_config::RepoConfig;

/// The request the page offers as an example (as in an issue).
const EXAMPLE: &str = "I need 2 VMs with 4 L4 GPUs each in us-central1 for model inference";

/// Longer prompts are refused before reaching the planner (a model bills per token).
pub const MAX_PROMPT_CHARS: usize = 4000;

#[derive(Debug, Default, Deserialize)]
pub struct TryForm {
    #[serde(default)]
    pub prompt: Option<String>,
}

/// The action this page is, as a refusal names it.
const TRYING: &str = "Trying a prompt (it spends the operator's model tokens)";

/// `GET /dashboard/try`: the form; `?prompt=` fills it in (a shareable link) but plans
/// nothing — a model bills per request, so only the form's POST spends.
pub async fn get(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Extension(form_token): Extension<FormToken>,
    Query(form): Query<TryForm>,
) -> Response {
    // Asked before the form is offered, so that nobody fills in one bound to fail.
    if let Err(response) = may_try(&dash, &viewer, false).await {
        return response;
    }
    respond(&dash, &form_token, form.prompt, false).await
}

/// `POST /dashboard/try`: the form submitted (its origin and token checked by
/// `csrf::protect`); who may spend is asked of GitHub afresh.
pub async fn post(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Extension(form_token): Extension<FormToken>,
    Form(form): Form<TryForm>,
) -> Response {
    if let Err(response) = may_try(&dash, &viewer, true).await {
        return response;
    }
    let planned = form.prompt.as_deref().is_some_and(|p| !p.trim().is_empty());
    if planned && let Err(over) = dash.try_limit.allow(&viewer) {
        tracing::info!(by = %viewer.who(), "try a prompt refused: the per-person limit is reached");
        return over_limit(&dash, &form_token, form.prompt, over);
    }
    respond(&dash, &form_token, form.prompt, true).await
}

/// 429, with the form kept filled in and when to try again.
fn over_limit(
    dash: &Dashboard,
    form_token: &FormToken,
    prompt: Option<String>,
    over: OverLimit,
) -> Response {
    let wait = over.retry_after.as_secs().max(1);
    let message = format!(
        "<h2>Not planned</h2><pre id=\"errors\" class=\"error\">At most {} prompts a minute are planned per person here (each may be a model call billed to the operator). Try again in {wait} s.</pre>",
        over.per_minute
    );
    let mut response = form_page(dash, form_token, prompt.as_deref(), &message).into_response();
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, wait.into());
    response
}

/// Whether the viewer may use this page: the operator may; someone signed in needs the
/// `min_permission` of a repository the store knows (one with a request or a run).
async fn may_try(dash: &Dashboard, viewer: &Viewer, fresh: bool) -> Result<(), Response> {
    if !matches!(viewer, Viewer::SignedIn { .. }) {
        return Ok(());
    }
    let requests = dash
        .store
        .list_requests(None)
        .await
        .map_err(|err| unavailable("the requests", err))?;
    let run_repos = dash
        .store
        .run_repos()
        .await
        .map_err(|err| unavailable("the runs", err))?;
    let known = requests
        .into_iter()
        .map(|record| record.repo)
        .chain(run_repos)
        .collect();
    dash.may_act_somewhere(viewer, &known, TRYING, fresh)
        .await
        .map_err(|refusal| {
            tracing::info!(by = %viewer.who(), %refusal, "try a prompt refused on the dashboard");
            refused(&refusal, "/dashboard")
        })
}

async fn respond(
    dash: &Dashboard,
    form_token: &FormToken,
    prompt: Option<String>,
    plan: bool,
) -> Response {
    let prompt = prompt.filter(|p| !p.trim().is_empty());
    let (status, result) = match &prompt {
        Some(prompt) if plan => evaluate(dash, prompt).await,
        _ => (StatusCode::OK, String::new()),
    };
    (
        status,
        form_page(dash, form_token, prompt.as_deref(), &result),
    )
        .into_response()
}

/// The page: the form (holding `prompt`) and `result` under it.
fn form_page(
    dash: &Dashboard,
    form_token: &FormToken,
    prompt: Option<&str>,
    result: &str,
) -> axum::response::Html<String> {
    let body = format!(
        "<p>Plans a request with the configured planner ({planner}) and the default policy, and \
         shows the pull request the bot would open for it. Nothing is saved, committed or posted.</p>\
         <form method=\"post\" action=\"/dashboard/try\">{csrf}\
         <label for=\"prompt\">What do you need?</label>\
         <textarea id=\"prompt\" name=\"prompt\" rows=\"4\" placeholder=\"{EXAMPLE}\">{prompt}</textarea>\
         <p class=\"muted\">For example: <a id=\"example\" href=\"/dashboard/try?prompt={example_query}\">{EXAMPLE}</a></p>\
         <button type=\"submit\">Plan it</button></form>\n{result}",
        planner = escape(&dash.planner.describe()),
        csrf = form_token.field(),
        prompt = escape(prompt.unwrap_or("")),
        example_query = escape(&super::deployments::url_component(EXAMPLE)),
    );
    page("Try a prompt", &body)
}

/// The issue number the try page's pull request body names (there is no issue).
const TRY_ISSUE: promptops_core::IssueNumber = promptops_core::IssueNumber::new(1);

fn cost_line(dash: &Dashboard, request: &promptops_core::DeploymentRequest) -> String {
    let cost = dash.catalog.estimate(request);
    format!(
        "{}/hour, {}/month for {} x {} ({} x {} per VM) in {} (prices as of {})",
        super::html::usd(cost.hourly_usd),
        super::html::usd(cost.monthly_usd),
        request.vm_count,
        request.machine_type,
        request.gpu_count,
        request.gpu_type,
        request.zone,
        dash.catalog.prices_as_of(),
    )
}

/// The result markup and the status to answer with (422 when the request was rejected).
async fn evaluate(dash: &Dashboard, prompt: &str) -> (StatusCode, String) {
    if prompt.chars().count() > MAX_PROMPT_CHARS {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "<h2>Not accepted</h2><pre id=\"errors\" class=\"error\">The prompt has {} characters; at most {MAX_PROMPT_CHARS} are accepted.</pre>",
                prompt.chars().count()
            ),
        );
    }
    let input = PlanInput {
        title: String::new(),
        body: prompt.to_owned(),
        instructions: String::new(),
        current: None,
    };
    match dash
        .planner
        .plan(&input, &dash.catalog, &Policy::default())
        .await
    {
        Ok(outcome) => (StatusCode::OK, valid_result(dash, prompt, &outcome)),
        Err(err) => {
            // The page plans with the default policy, like `promptops render`: it says what
            // the command line says.
            let policy = Policy::default();
            let audience = Audience::CommandLine {
                policy: &policy,
                policy_file: None,
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "<h2>Not accepted</h2><pre id=\"errors\" class=\"error\">{}</pre>",
                    escape(&explain(&err, audience))
                ),
            )
        }
    }
}

/// A planned request: what was read and assumed, the cost, the tfvars and the pull
/// request the bot would open (the same text, from the same function).
fn valid_result(
    dash: &Dashboard,
    prompt: &str,
    outcome: &promptops_planner::PlanOutcome,
) -> String {
    let request = &outcome.request;
    let context = RenderContext {
        source: "dashboard".to_owned(),
        planner: outcome.planned_by.clone(),
    };
    let tfvars = render_tfvars(request, &context);
    // What was assumed and what was not used, as the PR body and the CLI say it.
    let assumptions: String = request
        .assumptions
        .iter()
        .chain(
            outcome
                .notes
                .iter()
                .filter(|n| !request.assumptions.contains(n)),
        )
        .map(|line| format!("<li>{}</li>", escape(line)))
        .collect();
    let policy = Policy::default();
    let pr = crate::handlers::pr_text::render(
        &dash.catalog,
        request,
        &crate::handlers::pr_text::PrContext {
            issue: TRY_ISSUE,
            request_title: "",
            request_body: prompt,
            instructions: "",
            planned_by: &outcome.planned_by,
            tfvars_path: &RepoConfig::default().terraform.tfvars_path(&request.name),
            notes: &outcome.notes,
            policy: &policy,
            expires: crate::handlers::expiry::describe(outcome.expiry.as_ref(), None),
        },
    );
    format!(
        "<h2>Valid request</h2><p>Planned by {planned_by}.</p>\
                 <h2>Rationale</h2><p id=\"rationale\">{rationale}</p>\
                 <h2>Assumptions and parts not used</h2><ul id=\"assumptions\">{assumptions}</ul>\
                 <h2>Estimated cost</h2><p id=\"cost\">{cost}</p>\
                 <h2>terraform.tfvars</h2><pre id=\"tfvars\">{tfvars}</pre>\
                 <h2>The pull request it would open</h2>\
                 <p class=\"muted\">As committed for an issue #{TRY_ISSUE}; Markdown as GitHub receives it.</p>\
                 <p id=\"pr-title\"><strong>{title}</strong></p><pre id=\"pr-body\" class=\"wrap\">{pr_body}</pre>",
        planned_by = escape(&outcome.planned_by),
        rationale = escape(if request.rationale.trim().is_empty() {
            "(none given)"
        } else {
            &request.rationale
        }),
        cost = escape(&cost_line(dash, request)),
        tfvars = escape(&tfvars),
        title = escape(&pr.title),
        pr_body = escape(&pr.body),
    )
}
