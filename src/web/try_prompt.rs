//! "Try a prompt": one prompt through the configured planner, the default policy, the
//! tfvars renderer and the cost estimate — the same steps as `promptops render`, shown
//! on a page. Nothing is stored, committed or posted.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use promptops_core::{Policy, RenderContext, render_tfvars};
use promptops_planner::PlanInput;
use promptops_planner::message::{Audience, explain};
use serde::Deserialize;

use super::Dashboard;
use super::csrf::FormToken;
use super::html::{escape, page};

/// Longer prompts are refused before reaching the planner (a model bills per token).
pub const MAX_PROMPT_CHARS: usize = 4000;

#[derive(Debug, Default, Deserialize)]
pub struct TryForm {
    #[serde(default)]
    pub prompt: Option<String>,
}

/// `GET /dashboard/try`: the form; `?prompt=` fills it in (a shareable link) but plans
/// nothing — a model bills per request, so only the form's POST spends.
pub async fn get(
    State(dash): State<Dashboard>,
    Extension(form_token): Extension<FormToken>,
    Query(form): Query<TryForm>,
) -> Response {
    respond(&dash, &form_token, form.prompt, false).await
}

/// `POST /dashboard/try`: the form submitted (its origin and token checked by
/// `csrf::protect`).
pub async fn post(
    State(dash): State<Dashboard>,
    Extension(form_token): Extension<FormToken>,
    Form(form): Form<TryForm>,
) -> Response {
    respond(&dash, &form_token, form.prompt, true).await
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
    let body = format!(
        "<p>Plans a request with the configured planner ({planner}) and shows what a pull request \
         would contain. Nothing is saved.</p>\
         <form method=\"post\" action=\"/dashboard/try\">{csrf}<textarea name=\"prompt\" rows=\"4\">{prompt}</textarea><br>\
         <button type=\"submit\">Plan it</button></form>\n{result}",
        planner = escape(&dash.planner.describe()),
        csrf = form_token.field(),
        prompt = escape(prompt.as_deref().unwrap_or("")),
    );
    (status, page("Try a prompt", &body)).into_response()
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
        Ok(outcome) => {
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
            let cost = dash.catalog.estimate(request);
            let cost_line = format!(
                "${:.2}/hour, ${:.0}/month for {} x {} ({} x {} per VM) in {} (prices as of {})",
                cost.hourly_usd,
                cost.monthly_usd,
                request.vm_count,
                request.machine_type,
                request.gpu_count,
                request.gpu_type,
                request.zone,
                dash.catalog.prices_as_of(),
            );
            (
                StatusCode::OK,
                format!(
                    "<h2>Valid request</h2><p>Planned by {planned_by}.</p>\
                     <h2>Assumptions and parts not used</h2><ul id=\"assumptions\">{assumptions}</ul>\
                     <h2>Estimated cost</h2><p id=\"cost\">{cost}</p>\
                     <h2>terraform.tfvars</h2><pre id=\"tfvars\">{tfvars}</pre>",
                    planned_by = escape(&outcome.planned_by),
                    cost = escape(&cost_line),
                    tfvars = escape(&tfvars),
                ),
            )
        }
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
