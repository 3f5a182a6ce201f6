//! The axum router of the fake API.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use http::StatusCode;

use crate::auth;
use crate::fault::{Shared, github_error, log_and_inject};
use crate::routes::{
    checks, contents, git, git_data, issue_writes, issues, pull_lists, pulls, queue_support,
    reactions,
};

async fn not_found() -> Response {
    github_error(StatusCode::NOT_FOUND, "Not Found")
}

/// Every route of the fake, by API area, behind the request log and the fault injection.
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(app_routes())
        .merge(repository_routes())
        .merge(git_routes())
        .merge(pull_routes())
        .merge(issue_routes())
        .merge(check_routes())
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

/// `/repos/{owner}/{repo}` followed by `rest`.
fn in_repo(rest: &str) -> String {
    format!("/repos/{{owner}}/{{repo}}{rest}")
}

/// The App itself and its installation tokens.
fn app_routes() -> Router<Shared> {
    Router::new()
        .route("/app", get(auth::get_app))
        .route(
            "/app/installations/{id}/access_tokens",
            post(auth::create_access_token),
        )
        .route(&in_repo("/installation"), get(auth::get_repo_installation))
}

/// The repository, its files and who may write to it.
fn repository_routes() -> Router<Shared> {
    Router::new()
        .route(&in_repo(""), get(contents::get_repo))
        .route(
            &in_repo("/contents/{*path}"),
            get(contents::get_contents)
                .put(contents::put_contents)
                .delete(contents::delete_contents),
        )
        .route(
            &in_repo("/collaborators/{user}/permission"),
            get(contents::collaborator_permission),
        )
}

/// References, branches, comparisons and archives.
fn git_routes() -> Router<Shared> {
    Router::new()
        .route(&in_repo("/git/ref/{*ref}"), get(git::get_ref))
        .route(&in_repo("/git/refs"), post(git::create_ref))
        .route(&in_repo("/git/trees"), post(git_data::create_tree))
        .route(&in_repo("/git/commits"), post(git_data::create_commit))
        .route(&in_repo("/git/commits/{sha}"), get(git_data::get_commit))
        .route(
            &in_repo("/git/refs/{*ref}"),
            patch(git::update_ref).delete(git::delete_ref),
        )
        .route(&in_repo("/branches/{*branch}"), get(git::get_branch))
        .route(&in_repo("/compare/{basehead}"), get(queue_support::compare))
        .route(&in_repo("/tarball"), get(git::tarball_default))
        .route(&in_repo("/tarball/{*ref}"), get(git::tarball))
        .route(
            "/_codeload/{owner}/{repo}/legacy.tar.gz/{sha}",
            get(git::codeload),
        )
}

fn pull_routes() -> Router<Shared> {
    Router::new()
        .route(&in_repo("/pulls"), get(pulls::list).post(pulls::create))
        .route(
            &in_repo("/pulls/{number}"),
            get(pulls::get).patch(pulls::update),
        )
        .route(&in_repo("/pulls/{number}/merge"), put(pulls::merge))
        .route(&in_repo("/pulls/{number}/files"), get(pull_lists::files))
        .route(
            &in_repo("/pulls/{number}/commits"),
            get(pull_lists::commits),
        )
}

/// Issues, their comments and the reactions on comments.
fn issue_routes() -> Router<Shared> {
    Router::new()
        .route(
            &in_repo("/issues"),
            get(queue_support::list_issues).post(issue_writes::create),
        )
        .route(
            &in_repo("/issues/{number}"),
            get(issues::get_issue).patch(issue_writes::update),
        )
        .route(
            &in_repo("/issues/{number}/comments"),
            get(issues::list_comments).post(issues::create_comment),
        )
        .route(
            &in_repo("/issues/comments/{id}"),
            get(issues::get_comment)
                .patch(issues::update_comment)
                .delete(issues::delete_comment),
        )
        .route(
            &in_repo("/issues/comments/{id}/reactions"),
            post(reactions::create_for_comment),
        )
}

fn check_routes() -> Router<Shared> {
    Router::new()
        .route(&in_repo("/check-runs"), post(checks::create))
        .route(
            &in_repo("/check-runs/{id}"),
            get(checks::get).patch(checks::update),
        )
        .route(
            &in_repo("/commits/{ref}/check-runs"),
            get(checks::list_for_ref),
        )
}
