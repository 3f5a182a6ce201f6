//! `/dashboard/schedules`: what the bot will do by itself — each deployment's expiry date
//! and what was done about it, and each deployment's last drift check and its result.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use promptops_store::{DriftCheckRecord, ExpiryRecord};

use super::Dashboard;
use super::access::Viewer;
use super::html::{escape, page, timestamp};
use super::repo_access::unchecked;

pub async fn schedules(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let (mut expiries, mut checks) = match (
        dash.store.list_expiries(None).await,
        dash.store.list_drift_checks(None).await,
    ) {
        (Ok(expiries), Ok(checks)) => (expiries, checks),
        (Err(err), _) | (_, Err(err)) => {
            let body = format!(
                "<p class=\"error\">Reading the schedules failed: {}</p>",
                escape(&err.to_string())
            );
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                page("Database unavailable", &body),
            )
                .into_response();
        }
    };
    let repos = expiries
        .iter()
        .map(|expiry| &expiry.repo)
        .chain(checks.iter().map(|check| &check.repo));
    let scope = match dash.scope(&viewer, repos).await {
        Ok(scope) => scope,
        Err(err) => return unchecked(&err),
    };
    expiries.retain(|expiry| scope.includes(&expiry.repo));
    checks.retain(|check| scope.includes(&check.repo));
    let body = format!(
        "<h2>Expiry</h2>{}<h2>Drift</h2>{}",
        expiry_table(&expiries),
        drift_table(&checks)
    );
    page("Schedules", &body).into_response()
}

/// The expiry dates and what was done about them.
fn expiry_table(expiries: &[ExpiryRecord]) -> String {
    let mut expiry_rows = String::new();
    for expiry in expiries {
        let date = expiry
            .expires_at
            .map(timestamp)
            .unwrap_or_else(|| "when applied".to_owned());
        let state = match (expiry.destroy_pr, expiry.warned_at) {
            (Some(pr), _) => format!("destroy PR #{pr} opened"),
            (None, Some(at)) => format!("warned {}", timestamp(at)),
            (None, None) if expiry.expires_at.is_some() => "scheduled".to_owned(),
            (None, None) => "not applied yet".to_owned(),
        };
        expiry_rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>#{}</td><td>{date}</td><td>{}</td></tr>\n",
            escape(&expiry.repo.to_string()),
            escape(&expiry.deployment),
            expiry.issue,
            escape(&state),
        ));
    }
    if expiries.is_empty() {
        "<p>No deployment has an expiry date.</p>".to_owned()
    } else {
        format!(
            "<table id=\"expiries\"><tr><th>Repository</th><th>Deployment</th><th>Issue</th><th>Expires</th><th>State</th></tr>\n{expiry_rows}</table>"
        )
    }
}

/// Each deployment's last drift check.
fn drift_table(checks: &[DriftCheckRecord]) -> String {
    let mut drift_rows = String::new();
    for check in checks {
        drift_rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"drift-{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&check.repo.to_string()),
            escape(&check.deployment),
            timestamp(check.checked_at),
            escape(&check.result),
            escape(&check.result.replace('_', " ")),
            escape(&check.summary),
            check
                .issue
                .map(|n| format!("#{n}"))
                .unwrap_or_default(),
        ));
    }
    if checks.is_empty() {
        "<p>No drift check has run yet (set <code>drift: {every: 24h}</code> in <code>.github/promptops.yml</code>, or comment <code>/promptops drift</code>).</p>".to_owned()
    } else {
        format!(
            "<table id=\"drift\"><tr><th>Repository</th><th>Deployment</th><th>Last check</th><th>Result</th><th>Summary</th><th>Drift issue</th></tr>\n{drift_rows}</table>"
        )
    }
}
