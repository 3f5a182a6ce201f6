//! The overview (running GPUs and spend per repository, every deployment) and one
//! deployment's page (its request, tfvars, size, cost, state, lock, runs, app URLs).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use promptops_core::{CostEstimate, DeploymentRequest, HOURS_PER_MONTH, RepoName, parse_tfvars};
use promptops_store::{Lock, RequestRecord, Run, RunFilter, RunKind, RunStatus};

use super::Dashboard;
use super::access::Viewer;
use super::html::{app_urls, escape, page, table, time_tag, unavailable, usd};
use super::pages::runs_table;
use super::repo_access::{hidden, unchecked};

/// How many recent runs of one deployment are read (for its state, outputs and page).
const RUNS_PER_DEPLOYMENT: u32 = 20;

/// Whether the deployment's machines exist, as its newest apply or destroy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeploymentState {
    /// Planned, never applied.
    NotApplied,
    /// The newest apply succeeded and no destroy followed.
    Running,
    /// The newest apply is still going.
    Applying,
    /// The newest apply failed or was cancelled.
    ApplyFailed,
    /// Destroyed after it ran.
    Destroyed,
}

impl DeploymentState {
    fn of(runs: &[Run]) -> DeploymentState {
        let Some(run) = runs
            .iter()
            .find(|run| matches!(run.kind, RunKind::Apply | RunKind::Destroy))
        else {
            return DeploymentState::NotApplied;
        };
        match (run.kind.as_str(), run.status) {
            ("destroy", RunStatus::Succeeded) => DeploymentState::Destroyed,
            // A destroy that did not finish leaves the machines of the last apply.
            ("destroy", _) | (_, RunStatus::Succeeded) => DeploymentState::Running,
            (_, RunStatus::Running) => DeploymentState::Applying,
            _ => DeploymentState::ApplyFailed,
        }
    }

    fn badge(self) -> String {
        let (class, text) = match self {
            DeploymentState::NotApplied => ("off", "not applied"),
            DeploymentState::Running => ("ok", "running"),
            DeploymentState::Applying => ("running", "applying"),
            DeploymentState::ApplyFailed => ("bad", "apply failed"),
            DeploymentState::Destroyed => ("off", "destroyed"),
        };
        format!("<span class=\"badge {class}\">{text}</span>")
    }
}

/// One deployment with what the store knows of it.
struct DeploymentView {
    record: RequestRecord,
    prompt: Option<String>,
    tfvars: Option<String>,
    /// The tfvars read back, when they were recorded and parse.
    request: Option<DeploymentRequest>,
    runs: Vec<Run>,
    state: DeploymentState,
}

impl DeploymentView {
    fn page_path(&self) -> String {
        format!(
            "/dashboard/deployments/{}/{}",
            self.record.repo, self.record.deployment
        )
    }

    fn gpus(&self) -> u64 {
        self.request
            .as_ref()
            .map_or(0, |r| u64::from(r.vm_count) * u64::from(r.gpu_count))
    }

    fn cost(&self, dash: &Dashboard) -> Option<CostEstimate> {
        self.request.as_ref().map(|r| dash.catalog.estimate(r))
    }

    /// "2 VMs × 1 × NVIDIA T4" (or "unknown" without recorded tfvars).
    fn size(&self, dash: &Dashboard) -> String {
        match &self.request {
            Some(r) => format!(
                "{} VM{} × {} × {}",
                r.vm_count,
                if r.vm_count == 1 { "" } else { "s" },
                r.gpu_count,
                dash.catalog
                    .gpu(&r.gpu_type)
                    .map_or(r.gpu_type.as_str(), |gpu| gpu.name.as_str())
            ),
            None => "unknown".to_owned(),
        }
    }
}

async fn load(dash: &Dashboard, record: RequestRecord) -> Result<DeploymentView, Response> {
    let details = dash
        .store
        .request_details(&record.repo, record.issue)
        .await
        .map_err(|err| unavailable("the request", err))?;
    let runs = dash
        .store
        .list_runs(&RunFilter {
            repo: Some(record.repo.clone()),
            deployment: Some(record.deployment.clone()),
            limit: Some(RUNS_PER_DEPLOYMENT),
            ..RunFilter::default()
        })
        .await
        .map_err(|err| unavailable("the runs", err))?;
    let (prompt, tfvars) = details.map_or((None, None), |d| (Some(d.prompt), Some(d.tfvars)));
    let request = tfvars
        .as_deref()
        .and_then(|text| parse_tfvars(text).ok())
        .map(DeploymentRequest::from);
    let state = DeploymentState::of(&runs);
    Ok(DeploymentView {
        record,
        prompt,
        tfvars,
        request,
        runs,
        state,
    })
}

/// The newest run's address outputs: a later plan says nothing of where the app is.
fn latest_app_urls(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .map(|run| app_urls(run.summary.as_deref(), run.output.as_deref()))
        .find(|urls| !urls.is_empty())
        .unwrap_or_default()
}

fn url_links(urls: &[String]) -> String {
    urls.iter()
        .map(|url| format!("<a href=\"{0}\">{0}</a>", escape(url)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// `GET /dashboard`: what runs and costs now, per repository, then every deployment.
pub async fn overview(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let mut records = match dash.store.list_requests(None).await {
        Ok(records) => records,
        Err(err) => return unavailable("the requests", err),
    };
    match dash.scope(&viewer, records.iter().map(|r| &r.repo)).await {
        Ok(scope) => records.retain(|record| scope.includes(&record.repo)),
        Err(err) => return unchecked(&err),
    }
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        match load(&dash, record).await {
            Ok(view) => views.push(view),
            Err(response) => return response,
        }
    }
    if views.is_empty() {
        return page("Deployments", &no_deployments(&viewer)).into_response();
    }
    let now = Utc::now();
    let body = format!(
        "{}<h2>Spend per repository</h2>{}<h2>All deployments</h2>{}",
        summary_cards(&dash, &views),
        per_repository(&dash, &views),
        deployments_table(&dash, &views, now)
    );
    page("Deployments", &body).into_response()
}

/// What the overview says when it has nothing to show, and where to start.
fn no_deployments(viewer: &Viewer) -> String {
    let (none, try_prompt) = match viewer {
        Viewer::SignedIn { .. } => (
            "No deployment has been requested yet in a repository GitHub lets you read.",
            // The page refuses those without the permission; the link says so beforehand.
            " (it needs, on a repository PromptOps serves, that repository's \
             <code>permissions.min_permission</code>: write unless its settings say otherwise)",
        ),
        Viewer::Local | Viewer::Token => ("No deployment has been requested yet.", ""),
    };
    format!(
        "<p id=\"no-deployments\">{none} Open an issue in a repository where the App is installed \
         and comment <code>/promptops plan</code>, or <a href=\"/dashboard/try\">try a prompt</a>\
         {try_prompt} first.</p>"
    )
}

fn summary_cards(dash: &Dashboard, views: &[DeploymentView]) -> String {
    let running: Vec<&DeploymentView> = views
        .iter()
        .filter(|v| v.state == DeploymentState::Running)
        .collect();
    let gpus: u64 = running.iter().map(|v| v.gpus()).sum();
    let hourly: f64 = running
        .iter()
        .filter_map(|v| v.cost(dash))
        .map(|c| c.hourly_usd)
        .sum();
    let card = |id: &str, figure: String, label: &str| {
        format!(
            "<div class=\"card\"><div class=\"figure\" id=\"{id}\">{figure}</div><div class=\"label\">{label}</div></div>"
        )
    };
    format!(
        "<div class=\"cards\">{}{}{}{}</div>",
        card(
            "running-deployments",
            running.len().to_string(),
            "deployments running"
        ),
        card("running-gpus", gpus.to_string(), "GPUs running"),
        card("spend-hour", usd(hourly), "per hour"),
        card("spend-month", usd(hourly * HOURS_PER_MONTH), "per month"),
    )
}

fn per_repository(dash: &Dashboard, views: &[DeploymentView]) -> String {
    // Repository → (running deployments, GPUs, $/hour), every repository listed.
    let mut repos: BTreeMap<String, (u32, u64, f64)> = BTreeMap::new();
    for view in views {
        let entry = repos.entry(view.record.repo.to_string()).or_default();
        if view.state == DeploymentState::Running {
            entry.0 += 1;
            entry.1 += view.gpus();
            entry.2 += view.cost(dash).map_or(0.0, |c| c.hourly_usd);
        }
    }
    let rows: String = repos
        .iter()
        .map(|(repo, (running, gpus, hourly))| {
            format!(
                "<tr><td><a href=\"{url}\">{repo}</a></td><td>{running}</td><td>{gpus}</td><td>{hour}</td><td>{month}</td></tr>\n",
                url = escape(&format!("{}/{repo}", dash.github_web_url)),
                repo = escape(repo),
                hour = usd(*hourly),
                month = usd(hourly * HOURS_PER_MONTH),
            )
        })
        .collect();
    table(
        "repositories",
        &["Repository", "Running", "GPUs", "Per hour", "Per month"],
        &rows,
    )
}

fn deployments_table(dash: &Dashboard, views: &[DeploymentView], now: DateTime<Utc>) -> String {
    let rows: String = views
        .iter()
        .map(|view| {
            let record = &view.record;
            let cost = view
                .cost(dash)
                .map(|c| format!("{}/h", usd(c.hourly_usd)))
                .unwrap_or_default();
            format!(
                "<tr><td><a href=\"{path}\">{deployment}</a></td><td>{repo}</td><td>{issue}</td><td>{pr}</td>\
                 <td>{state}</td><td>{size}</td><td>{region}</td><td>{cost}</td><td>{urls}</td><td>{updated}</td></tr>\n",
                path = escape(&view.page_path()),
                deployment = escape(&record.deployment),
                repo = escape(&record.repo.to_string()),
                issue = issue_link(dash, record),
                pr = pr_link(dash, record),
                state = view.state.badge(),
                size = escape(&view.size(dash)),
                region = escape(view.request.as_ref().map_or("", |r| r.region())),
                urls = url_links(&latest_app_urls(&view.runs)),
                updated = time_tag(record.updated_at, now),
            )
        })
        .collect();
    table(
        "deployments",
        &[
            "Deployment",
            "Repository",
            "Issue",
            "Pull request",
            "State",
            "Size",
            "Region",
            "Cost",
            "App URLs",
            "Updated",
        ],
        &rows,
    )
}

fn issue_link(dash: &Dashboard, record: &RequestRecord) -> String {
    format!(
        "<a href=\"{}\">#{}</a>",
        escape(&dash.issue_url(&record.repo, record.issue)),
        record.issue
    )
}

fn pr_link(dash: &Dashboard, record: &RequestRecord) -> String {
    match record.pr {
        Some(pr) => format!(
            "<a href=\"{}\">#{pr}</a>",
            escape(&dash.pr_url(&record.repo, pr))
        ),
        None => "<span class=\"muted\">none yet</span>".to_owned(),
    }
}

/// `GET /dashboard/deployments/{owner}/{repo}/{deployment}`.
pub async fn deployment(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Path((owner, repo, deployment)): Path<(String, String, String)>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    // A name GitHub could not give has had no deployment requested either.
    let found = match full_name.parse::<RepoName>() {
        Ok(repo) => match dash.may_see(&viewer, &repo).await {
            Ok(true) => dash.store.request_for_deployment(&repo, &deployment).await,
            Ok(false) => {
                return hidden(&viewer, &format!("Deployment {deployment}"), Some(&repo));
            }
            Err(err) => return unchecked(&err),
        },
        Err(_) => Ok(None),
    };
    let record = match found {
        Ok(Some(record)) => record,
        Ok(None) => {
            let body = format!(
                "<p class=\"error\">No deployment {} has been requested in {}.</p>\
                 <p><a href=\"/dashboard\">All deployments</a></p>",
                escape(&deployment),
                escape(&full_name)
            );
            return (StatusCode::NOT_FOUND, page("Deployment not found", &body)).into_response();
        }
        Err(err) => return unavailable("the request", err),
    };
    let lock = match dash.store.list_locks(Some(&record.repo)).await {
        Ok(locks) => locks.into_iter().find(|lock| lock.deployment == deployment),
        Err(err) => return unavailable("the locks", err),
    };
    let view = match load(&dash, record).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let now = Utc::now();
    let body = format!(
        "{facts}<h2>Request</h2><pre id=\"request\" class=\"wrap\">{prompt}</pre>\
         <h2>terraform.tfvars</h2><pre id=\"tfvars\">{tfvars}</pre><h2>Runs</h2>{runs}",
        facts = facts(&dash, &view, lock.as_ref(), now),
        prompt = escape(view.prompt.as_deref().unwrap_or("(not recorded)")),
        tfvars = escape(view.tfvars.as_deref().unwrap_or("(not recorded)")),
        runs = runs_table(&dash, &view.runs, now),
    );
    page(&format!("Deployment {deployment}"), &body).into_response()
}

fn facts(
    dash: &Dashboard,
    view: &DeploymentView,
    lock: Option<&Lock>,
    now: DateTime<Utc>,
) -> String {
    let record = &view.record;
    let request = view.request.as_ref();
    let cost = view
        .cost(dash)
        .map(|c| format!("{}/hour · {}/month", usd(c.hourly_usd), usd(c.monthly_usd)))
        .unwrap_or_else(|| "unknown".to_owned());
    let lock = match lock {
        Some(lock) => format!(
            "held by <a href=\"{}\">#{}</a> since {} · <a href=\"/dashboard/locks/unlock?repo={}&amp;deployment={}\">unlock…</a>",
            escape(&dash.pr_url(&lock.repo, lock.pr)),
            lock.pr,
            time_tag(lock.since, now),
            escape(&url_component(&lock.repo.to_string())),
            escape(&url_component(&lock.deployment)),
        ),
        None => "free".to_owned(),
    };
    let urls = latest_app_urls(&view.runs);
    format!(
        "<dl class=\"facts\"><dt>State</dt><dd id=\"state\">{state}</dd>\
         <dt>Repository</dt><dd>{repo}</dd><dt>Issue</dt><dd>{issue}</dd><dt>Pull request</dt><dd>{pr}</dd>\
         <dt>GPUs</dt><dd id=\"gpus\">{size}</dd><dt>Machine type</dt><dd>{machine}</dd>\
         <dt>Region</dt><dd id=\"region\">{region}</dd><dt>Zone</dt><dd>{zone}</dd>\
         <dt>Estimated cost</dt><dd id=\"cost\">{cost}</dd><dt>Lock</dt><dd id=\"lock\">{lock}</dd>\
         <dt>App URLs</dt><dd id=\"app-urls\">{urls}</dd></dl>",
        state = view.state.badge(),
        repo = escape(&record.repo.to_string()),
        issue = issue_link(dash, record),
        pr = pr_link(dash, record),
        size = escape(&view.size(dash)),
        machine = escape(request.map_or("unknown", |r| r.machine_type.as_str())),
        region = escape(request.map_or("unknown", |r| r.region())),
        zone = escape(request.map_or("unknown", |r| r.zone.as_str())),
        urls = if urls.is_empty() {
            "none yet".to_owned()
        } else {
            url_links(&urls)
        },
    )
}

/// Percent-encodes a query value.
pub fn url_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
