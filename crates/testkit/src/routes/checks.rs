//! Check runs: create, update, get, and list for a commit.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{authorize, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::{CheckRun, CheckRunAction};
use crate::render;

/// GitHub's limit on a check run's `output.summary` and `output.text`, in characters.
pub const MAX_OUTPUT_CHARS: usize = 65_535;

const STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];
const CONCLUSIONS: &[&str] = &[
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
];

#[derive(Deserialize)]
pub struct Output {
    title: Option<String>,
    summary: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
pub struct CheckRunBody {
    name: Option<String>,
    head_sha: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    details_url: Option<String>,
    external_id: Option<String>,
    started_at: Option<String>,
    completed_at: Option<String>,
    output: Option<Output>,
    actions: Option<Vec<CheckRunAction>>,
}

/// GitHub's limits on a check run's `actions`: how many, and each field's length.
pub const MAX_ACTIONS: usize = 3;
const ACTION_FIELD_LIMITS: [(&str, usize); 3] =
    [("label", 20), ("description", 40), ("identifier", 20)];

fn check_actions(actions: &[CheckRunAction]) -> Result<(), Response> {
    if actions.len() > MAX_ACTIONS {
        return Err(validation_failed(json!([{
            "resource": "CheckRun", "field": "actions", "code": "invalid",
            "message": format!("actions can have at most {MAX_ACTIONS} items"),
        }])));
    }
    for action in actions {
        let values = [&action.label, &action.description, &action.identifier];
        for ((field, max), value) in ACTION_FIELD_LIMITS.iter().zip(values) {
            if value.is_empty() || value.chars().count() > *max {
                return Err(validation_failed(json!([{
                    "resource": "CheckRun", "field": format!("actions.{field}"), "code": "invalid",
                    "message": format!("actions.{field} must be 1 to {max} characters"),
                }])));
            }
        }
    }
    Ok(())
}

fn check_values(body: &CheckRunBody) -> Result<(), Response> {
    if let Some(actions) = &body.actions {
        check_actions(actions)?;
    }
    if let Some(s) = &body.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(validation_failed(
            json!([{ "resource": "CheckRun", "field": "status", "code": "invalid", "value": s }]),
        ));
    }
    if let Some(c) = &body.conclusion
        && !CONCLUSIONS.contains(&c.as_str())
    {
        return Err(validation_failed(
            json!([{ "resource": "CheckRun", "field": "conclusion", "code": "invalid", "value": c }]),
        ));
    }
    if let Some(o) = &body.output {
        for (field, value) in [("summary", &o.summary), ("text", &o.text)] {
            if value
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_OUTPUT_CHARS)
            {
                return Err(validation_failed(json!([{
                    "resource": "CheckRun", "field": format!("output.{field}"), "code": "invalid",
                    "message": format!("output.{field} is too long (maximum is {MAX_OUTPUT_CHARS} characters)"),
                }])));
            }
        }
    }
    if let Some(o) = &body.output
        && (o.title.is_none() || o.summary.is_none())
    {
        return Err(validation_failed(json!([{
            "resource": "CheckRun", "field": "output", "code": "missing_field",
            "message": "output needs title and summary",
        }])));
    }
    Ok(())
}

fn apply(run: &mut CheckRun, body: CheckRunBody) {
    if let Some(n) = body.name {
        run.name = n;
    }
    if let Some(s) = body.status {
        run.status = s;
    }
    if let Some(c) = body.conclusion {
        run.conclusion = Some(c);
        run.status = "completed".to_string();
    }
    if body.details_url.is_some() {
        run.details_url = body.details_url;
    }
    if body.external_id.is_some() {
        run.external_id = body.external_id;
    }
    if body.started_at.is_some() {
        run.started_at = body.started_at;
    }
    if body.completed_at.is_some() {
        run.completed_at = body.completed_at;
    }
    if let Some(o) = body.output {
        run.title = o.title;
        run.summary = o.summary;
        run.text = o.text;
    }
    if let Some(actions) = body.actions {
        run.actions = actions;
    }
}

/// `POST /repos/{owner}/{repo}/check-runs`
pub async fn create(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<CheckRunBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    if let Err(r) = check_values(&body) {
        return r;
    }
    let (Some(run_name), Some(head_sha)) = (body.name.clone(), body.head_sha.clone()) else {
        return validation_failed(json!([{
            "resource": "CheckRun", "code": "missing_field", "message": "name and head_sha are required",
        }]));
    };
    let repo = world.repo(&owner, &name).expect("authorized");
    if !repo.commits.contains_key(&head_sha) {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {head_sha}"),
        );
    }
    let full = repo.full_name();
    let id = world.next_id();
    let mut run = CheckRun {
        id,
        repo: full,
        name: run_name,
        head_sha,
        status: "queued".to_string(),
        conclusion: None,
        title: None,
        summary: None,
        text: None,
        details_url: None,
        external_id: None,
        started_at: None,
        completed_at: None,
        updates: 0,
        actions: Vec::new(),
    };
    apply(&mut run, body);
    if run.status == "completed" && run.conclusion.is_none() {
        return validation_failed(json!([{
            "resource": "CheckRun", "field": "conclusion", "code": "missing_field",
            "message": "conclusion is required when status is completed",
        }]));
    }
    let json = render::check_run(&world.base_url, &run);
    world.check_runs.push(run);
    (StatusCode::CREATED, Json(json)).into_response()
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{id}`
pub async fn update(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<CheckRunBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    if let Err(r) = check_values(&body) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    let base = world.base_url.clone();
    match world
        .check_runs
        .iter_mut()
        .find(|c| c.id == id && c.repo == full)
    {
        Some(run) => {
            apply(run, body);
            run.updates += 1;
            Json(render::check_run(&base, run)).into_response()
        }
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `GET /repos/{owner}/{repo}/check-runs/{id}`
pub async fn get(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    match world
        .check_runs
        .iter()
        .find(|c| c.id == id && c.repo == full)
    {
        Some(run) => Json(render::check_run(&world.base_url, run)).into_response(),
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`
pub async fn list_for_ref(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    let Some(sha) = repo.resolve(&git_ref).map(|c| c.sha.clone()) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let runs: Vec<_> = world
        .check_runs
        .iter()
        .filter(|c| c.repo == full && c.head_sha == sha)
        .map(|c| render::check_run(&world.base_url, c))
        .collect();
    Json(json!({ "total_count": runs.len(), "check_runs": runs })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(label: &str, description: &str, identifier: &str) -> CheckRunAction {
        CheckRunAction {
            label: label.to_owned(),
            description: description.to_owned(),
            identifier: identifier.to_owned(),
        }
    }

    #[test]
    fn actions_over_githubs_limits_are_refused_with_422() {
        let ok = action("Re-plan", "Plan again", "replan");
        assert!(check_actions(std::slice::from_ref(&ok)).is_ok());
        let four = vec![ok.clone(), ok.clone(), ok.clone(), ok.clone()];
        for refused in [
            four,
            vec![action(&"l".repeat(21), "d", "i")],
            vec![action("l", &"d".repeat(41), "i")],
            vec![action("l", "d", &"i".repeat(21))],
            vec![action("l", "d", "")],
        ] {
            let answer = check_actions(&refused).expect_err("GitHub refuses it");
            assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
}
