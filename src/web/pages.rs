//! The runs pages: the newest runs, and one run with its masked output.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use promptops_store::{Run, RunFilter};

use super::Dashboard;
use super::access::Viewer;
use super::deployments::url_component;
use super::html::{duration, escape, page, status_badge, table, time_tag, unavailable};
use super::repo_access::{Scope, hidden, unchecked};

/// How many runs the runs page lists.
const NEWEST_RUNS: usize = 100;

/// A table of runs, newest first, each linking to its page and its deployment.
pub fn runs_table(dash: &Dashboard, runs: &[Run], now: DateTime<Utc>) -> String {
    if runs.is_empty() {
        return "<p class=\"muted\">No Terraform run yet.</p>".to_owned();
    }
    let rows: String = runs
        .iter()
        .map(|run| {
            format!(
                "<tr id=\"run-{id}\"><td><a href=\"/dashboard/runs/{id}\">#{id}</a></td><td>{repo}</td>\
                 <td><a href=\"/dashboard/deployments/{repo_path}/{deployment_path}\">{deployment}</a></td>\
                 <td>{pr}</td><td>{kind}</td><td>{status}</td><td>{started}</td><td>{duration}</td></tr>\n",
                id = run.id,
                repo = escape(&run.repo.to_string()),
                repo_path = escape(&run.repo.to_string()),
                deployment_path = escape(&url_component(&run.deployment)),
                deployment = escape(&run.deployment),
                pr = run
                    .pr
                    .map(|pr| format!(
                        "<a href=\"{}\">#{pr}</a>",
                        escape(&dash.pr_url(&run.repo, pr))
                    ))
                    .unwrap_or_default(),
                kind = run.kind,
                status = status_badge(run.status, None),
                started = time_tag(run.started_at, now),
                duration = duration(run.started_at, run.finished_at),
            )
        })
        .collect();
    table(
        "runs",
        &[
            "Run",
            "Repository",
            "Deployment",
            "PR",
            "Kind",
            "Status",
            "Started",
            "Duration",
        ],
        &rows,
    )
}

pub async fn runs(State(dash): State<Dashboard>, Extension(viewer): Extension<Viewer>) -> Response {
    let runs = match visible_runs(&dash, &viewer).await {
        Ok(runs) => runs,
        Err(response) => return response,
    };
    let intro = if runs.is_empty() {
        ""
    } else {
        "<p class=\"muted\">The newest 100 runs.</p>"
    };
    let body = format!("{intro}{}", runs_table(&dash, &runs, Utc::now()));
    page("Runs", &body).into_response()
}

/// The newest runs of the repositories the viewer may see.
async fn visible_runs(dash: &Dashboard, viewer: &Viewer) -> Result<Vec<Run>, Response> {
    if !matches!(viewer, Viewer::SignedIn { .. }) {
        return dash
            .store
            .list_runs(&RunFilter::default())
            .await
            .map_err(|err| unavailable("the runs", err));
    }
    // Someone who sees a few repositories among busier ones: every repository with runs is
    // a candidate, however old its runs, and theirs are read one by one, or the others'
    // runs would push them off the list.
    let candidates = dash
        .store
        .run_repos()
        .await
        .map_err(|err| unavailable("the runs", err))?;
    let repos = match dash.scope(viewer, &candidates).await {
        Ok(Scope::Only(repos)) => repos,
        Ok(Scope::Everything) => candidates.into_iter().collect(),
        Err(err) => return Err(unchecked(&err)),
    };
    let mut runs = Vec::new();
    for repo in repos {
        let filter = RunFilter {
            repo: Some(repo),
            ..RunFilter::default()
        };
        let of_repo = dash.store.list_runs(&filter).await;
        runs.extend(of_repo.map_err(|err| unavailable("the runs", err))?);
    }
    runs.sort_by_key(|run| std::cmp::Reverse(run.id));
    runs.truncate(NEWEST_RUNS);
    Ok(runs)
}

pub async fn run(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
) -> Response {
    let run = match dash.store.run(id).await {
        Ok(Some(run)) => run,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page("Run not found", &format!("<p>There is no run #{id}.</p>")),
            )
                .into_response();
        }
        Err(err) => return unavailable("the run", err),
    };
    match dash.may_see(&viewer, &run.repo).await {
        Ok(true) => {}
        Ok(false) => return hidden(&viewer, &format!("Run #{id}"), None),
        Err(err) => return unchecked(&err),
    }
    let now = Utc::now();
    let pr = match run.pr {
        Some(pr) => format!(
            "<a href=\"{}\">#{pr}</a>",
            escape(&dash.pr_url(&run.repo, pr))
        ),
        None => "none".to_owned(),
    };
    let body = format!(
        "<dl class=\"facts\"><dt>Status</dt><dd>{status}</dd><dt>Repository</dt><dd>{repo}</dd>\
         <dt>Deployment</dt><dd><a href=\"/dashboard/deployments/{repo}/{deployment_path}\">{deployment}</a></dd>\
         <dt>Pull request</dt><dd>{pr}</dd><dt>Kind</dt><dd>{kind}</dd><dt>Commit</dt><dd><code>{sha}</code></dd>\
         <dt>Started</dt><dd>{started}</dd><dt>Duration</dt><dd>{duration}</dd>\
         <dt>Summary</dt><dd id=\"summary\">{summary}</dd></dl>\
         <h2>Output (secrets masked)</h2><pre id=\"output\">{output}</pre>",
        status = status_badge(run.status, Some("status")),
        repo = escape(&run.repo.to_string()),
        deployment_path = escape(&url_component(&run.deployment)),
        deployment = escape(&run.deployment),
        kind = run.kind,
        sha = escape(run.sha.as_ref().map_or("", |sha| sha.as_str())),
        started = time_tag(run.started_at, now),
        duration = duration(run.started_at, run.finished_at),
        summary = escape(run.summary.as_deref().unwrap_or("")),
        output = escape(run.output.as_deref().unwrap_or("(no output recorded yet)")),
    );
    page(&format!("Run #{}", run.id), &body).into_response()
}
