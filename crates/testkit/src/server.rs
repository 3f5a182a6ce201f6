//! The axum router of the fake API.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use http::StatusCode;

use crate::auth;
use crate::fault::{Shared, github_error, log_and_inject};
use crate::routes::{checks, contents, git, issue_writes, issues, pulls, queue_support, reactions};

async fn not_found() -> Response {
    github_error(StatusCode::NOT_FOUND, "Not Found")
}

pub fn router(state: Shared) -> Router {
    let repo = "/repos/{owner}/{repo}";
    Router::new()
        .route("/app", get(auth::get_app))
        .route(
            "/app/installations/{id}/access_tokens",
            post(auth::create_access_token),
        )
        .route(repo, get(contents::get_repo))
        .route(
            &format!("{repo}/installation"),
            get(auth::get_repo_installation),
        )
        .route(
            &format!("{repo}/contents/{{*path}}"),
            get(contents::get_contents)
                .put(contents::put_contents)
                .delete(contents::delete_contents),
        )
        .route(
            &format!("{repo}/collaborators/{{user}}/permission"),
            get(contents::collaborator_permission),
        )
        .route(&format!("{repo}/git/ref/{{*ref}}"), get(git::get_ref))
        .route(&format!("{repo}/git/refs"), post(git::create_ref))
        .route(
            &format!("{repo}/git/refs/{{*ref}}"),
            patch(git::update_ref).delete(git::delete_ref),
        )
        .route(
            &format!("{repo}/branches/{{*branch}}"),
            get(git::get_branch),
        )
        .route(&format!("{repo}/tarball"), get(git::tarball_default))
        .route(&format!("{repo}/tarball/{{*ref}}"), get(git::tarball))
        .route(
            "/_codeload/{owner}/{repo}/legacy.tar.gz/{sha}",
            get(git::codeload),
        )
        .route(
            &format!("{repo}/pulls"),
            get(pulls::list).post(pulls::create),
        )
        .route(
            &format!("{repo}/pulls/{{number}}"),
            get(pulls::get).patch(pulls::update),
        )
        .route(&format!("{repo}/pulls/{{number}}/merge"), put(pulls::merge))
        .route(&format!("{repo}/pulls/{{number}}/files"), get(pulls::files))
        .route(
            &format!("{repo}/pulls/{{number}}/commits"),
            get(pulls::commits),
        )
        .route(
            &format!("{repo}/issues"),
            get(queue_support::list_issues).post(issue_writes::create),
        )
        .route(
            &format!("{repo}/compare/{{basehead}}"),
            get(queue_support::compare),
        )
        .route(
            &format!("{repo}/issues/{{number}}"),
            get(issues::get_issue).patch(issue_writes::update),
        )
        .route(
            &format!("{repo}/issues/comments/{{id}}/reactions"),
            post(reactions::create_for_comment),
        )
        .route(
            &format!("{repo}/issues/{{number}}/comments"),
            get(issues::list_comments).post(issues::create_comment),
        )
        .route(
            &format!("{repo}/issues/comments/{{id}}"),
            get(issues::get_comment)
                .patch(issues::update_comment)
                .delete(issues::delete_comment),
        )
        .route(&format!("{repo}/check-runs"), post(checks::create))
        .route(
            &format!("{repo}/check-runs/{{id}}"),
            get(checks::get).patch(checks::update),
        )
        .route(
            &format!("{repo}/commits/{{ref}}/check-runs"),
            get(checks::list_for_ref),
        )
        .merge(crate::routes::app_manifests::routes())
        .merge(crate::routes::oauth::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_and_inject,
        ))
        .with_state(state)
}
