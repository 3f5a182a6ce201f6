//! The read-only pages (deployments, runs, one run, locks) and the unlock form.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use promptops_store::{Run, RunFilter};
use serde::Deserialize;

use super::Dashboard;
use super::access::Viewer;
use super::csrf::FormToken;
use super::html::{app_urls, duration, escape, page, timestamp};

/// A store failure as a page that says what could not be read.
fn unavailable(what: &str, err: impl std::fmt::Display) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            "Database unavailable",
            &format!(
                "<p class=\"error\">Reading {} failed: {}</p>",
                escape(what),
                escape(&err.to_string())
            ),
        ),
    )
        .into_response()
}

fn run_link(run: &Run) -> String {
    format!(
        "<a href=\"/dashboard/runs/{id}\">#{id} {kind}</a> <span class=\"status\">{status}</span>",
        id = run.id,
        kind = escape(&run.kind),
        status = escape(run.status.as_str()),
    )
}

fn url_links(urls: &[String]) -> String {
    urls.iter()
        .map(|url| format!("<a href=\"{0}\">{0}</a>", escape(url)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// How many recent runs of one deployment are searched for its last outputs.
const RUNS_SEARCHED_FOR_OUTPUTS: u32 = 20;

pub async fn deployments(State(dash): State<Dashboard>) -> Response {
    let requests = match dash.store.list_requests(None).await {
        Ok(requests) => requests,
        Err(err) => return unavailable("the requests", err),
    };
    let mut rows = String::new();
    for request in &requests {
        let runs = match dash
            .store
            .list_runs(&RunFilter {
                repo: Some(request.repo.clone()),
                deployment: Some(request.deployment.clone()),
                limit: Some(RUNS_SEARCHED_FOR_OUTPUTS),
                ..RunFilter::default()
            })
            .await
        {
            Ok(runs) => runs,
            Err(err) => return unavailable("the runs", err),
        };
        let latest = runs
            .first()
            .map(run_link)
            .unwrap_or_else(|| "none yet".to_owned());
        // The newest run that names addresses: a later plan says nothing of where the app is.
        let urls = runs
            .iter()
            .map(|run| app_urls(run.summary.as_deref(), run.output.as_deref()))
            .find(|urls| !urls.is_empty())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{repo}</td><td>{deployment}</td><td>#{issue}</td><td>{pr}</td><td>{latest}</td><td>{urls}</td><td>{updated}</td></tr>\n",
            repo = escape(&request.repo),
            deployment = escape(&request.deployment),
            issue = request.issue,
            pr = request.pr.map(|pr| format!("#{pr}")).unwrap_or_else(|| "none yet".to_owned()),
            urls = url_links(&urls),
            updated = timestamp(request.updated_at),
        ));
    }
    let body = if requests.is_empty() {
        "<p>No deployment has been requested yet.</p>".to_owned()
    } else {
        format!(
            "<table id=\"deployments\"><tr><th>Repository</th><th>Deployment</th><th>Issue</th><th>Pull request</th>\
             <th>Latest run</th><th>App URLs</th><th>Updated</th></tr>\n{rows}</table>"
        )
    };
    page("Deployments", &body).into_response()
}

pub async fn runs(State(dash): State<Dashboard>) -> Response {
    let runs = match dash.store.list_runs(&RunFilter::default()).await {
        Ok(runs) => runs,
        Err(err) => return unavailable("the runs", err),
    };
    let rows: String = runs
        .iter()
        .map(|run| {
            format!(
                "<tr id=\"run-{id}\"><td><a href=\"/dashboard/runs/{id}\">#{id}</a></td><td>{repo}</td><td>{deployment}</td>\
                 <td>{pr}</td><td>{kind}</td><td class=\"status\">{status}</td><td>{started}</td><td>{duration}</td></tr>\n",
                id = run.id,
                repo = escape(&run.repo),
                deployment = escape(&run.deployment),
                pr = run.pr.map(|pr| format!("#{pr}")).unwrap_or_default(),
                kind = escape(&run.kind),
                status = escape(run.status.as_str()),
                started = timestamp(run.started_at),
                duration = duration(run.started_at, run.finished_at),
            )
        })
        .collect();
    let body = if runs.is_empty() {
        "<p>No Terraform run yet.</p>".to_owned()
    } else {
        format!(
            "<p>The newest 100 runs.</p><table id=\"runs\"><tr><th>Run</th><th>Repository</th><th>Deployment</th><th>PR</th>\
             <th>Kind</th><th>Status</th><th>Started</th><th>Duration</th></tr>\n{rows}</table>"
        )
    };
    page("Runs", &body).into_response()
}

pub async fn run(State(dash): State<Dashboard>, Path(id): Path<i64>) -> Response {
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
    let body = format!(
        "<dl><dt>Repository</dt><dd>{repo}</dd><dt>Deployment</dt><dd>{deployment}</dd>\
         <dt>Pull request</dt><dd>{pr}</dd><dt>Kind</dt><dd>{kind}</dd><dt>Commit</dt><dd>{sha}</dd>\
         <dt>Status</dt><dd id=\"status\">{status}</dd><dt>Started</dt><dd>{started}</dd>\
         <dt>Duration</dt><dd>{duration}</dd><dt>Summary</dt><dd id=\"summary\">{summary}</dd></dl>\
         <h2>Output (secrets masked)</h2><pre id=\"output\">{output}</pre>",
        repo = escape(&run.repo),
        deployment = escape(&run.deployment),
        pr = run
            .pr
            .map(|pr| format!("#{pr}"))
            .unwrap_or_else(|| "none".to_owned()),
        kind = escape(&run.kind),
        sha = escape(run.sha.as_deref().unwrap_or("")),
        status = escape(run.status.as_str()),
        started = timestamp(run.started_at),
        duration = duration(run.started_at, run.finished_at),
        summary = escape(run.summary.as_deref().unwrap_or("")),
        output = escape(run.output.as_deref().unwrap_or("(no output recorded yet)")),
    );
    page(&format!("Run #{}", run.id), &body).into_response()
}

pub async fn locks(
    State(dash): State<Dashboard>,
    Extension(form_token): Extension<FormToken>,
) -> Response {
    locks_page(&dash, &form_token, None).await
}

async fn locks_page(dash: &Dashboard, form_token: &FormToken, notice: Option<String>) -> Response {
    let locks = match dash.store.list_locks(None).await {
        Ok(locks) => locks,
        Err(err) => return unavailable("the locks", err),
    };
    // Each form carries the page's token (`csrf::protect` checks it on the POST).
    let csrf = form_token.field();
    let rows: String = locks
        .iter()
        .map(|lock| {
            format!(
                "<tr><td>{repo}</td><td>{deployment}</td><td>#{pr}</td><td>{since}</td><td>\
                 <form method=\"post\" action=\"/dashboard/locks/unlock\">\
                 <input type=\"hidden\" name=\"repo\" value=\"{repo}\">\
                 <input type=\"hidden\" name=\"deployment\" value=\"{deployment}\">{csrf}\
                 <button type=\"submit\">Unlock</button></form></td></tr>\n",
                repo = escape(&lock.repo),
                deployment = escape(&lock.deployment),
                pr = lock.pr,
                since = timestamp(lock.since),
            )
        })
        .collect();
    let notice = notice
        .map(|text| format!("<p id=\"notice\">{}</p>", escape(&text)))
        .unwrap_or_default();
    let body = if locks.is_empty() {
        format!("{notice}<p>No deployment is locked.</p>")
    } else {
        format!(
            "{notice}<table id=\"locks\"><tr><th>Repository</th><th>Deployment</th><th>Held by</th><th>Since</th><th></th></tr>\n{rows}</table>"
        )
    };
    page("Locks", &body).into_response()
}

/// The unlock form; its origin and `csrf` field were checked by `csrf::protect`.
#[derive(Debug, Deserialize)]
pub struct UnlockForm {
    pub repo: String,
    pub deployment: String,
}

pub async fn unlock(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Extension(form_token): Extension<FormToken>,
    Form(form): Form<UnlockForm>,
) -> Response {
    let who = viewer.who();
    let notice = match dash.store.force_unlock(&form.repo, &form.deployment).await {
        Ok(Some(lock)) => format!(
            "Unlocked {}/{} (was held by pull request #{}), by {who}.",
            lock.repo, lock.deployment, lock.pr
        ),
        Ok(None) => format!(
            "{}/{} was not locked (any more).",
            form.repo, form.deployment
        ),
        Err(err) => return unavailable("the lock", err),
    };
    tracing::info!(repo = %form.repo, deployment = %form.deployment, by = %who, "lock removed from the dashboard");
    locks_page(&dash, &form_token, Some(notice)).await
}
