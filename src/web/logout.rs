//! Signing out of the dashboard: a POST from the dashboard's own Sign out button.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Dashboard;
use super::csrf::{same_site, tokens_match};
use super::html::page;
use super::session::{SESSION_COOKIE, set_cookie};

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /dashboard/logout`: the session cookie is deleted. (The session is a signed
/// cookie: a copy taken before would stay valid until it expires.) Like every form, it
/// must come from this site and, from a session, carry the session's form token, so
/// that another site cannot sign people out.
pub async fn logout(
    State(dash): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Err(reason) = same_site(&headers) {
        return (StatusCode::FORBIDDEN, reason).into_response();
    }
    if let Some(sign_in) = dash.access.sign_in()
        && let Some(session) = sign_in.session(&headers)
        && !tokens_match(
            Some(&session.csrf_token(sign_in.key())),
            form.csrf.as_deref(),
        )
    {
        return (
            StatusCode::FORBIDDEN,
            "refused: the sign-out form's csrf field is missing or does not belong to your \
             session; use the Sign out button of a dashboard page\n",
        )
            .into_response();
    }
    let secure = dash.access.sign_in().is_some_and(|s| s.secure_cookies());
    let mut response = page(
        "Signed out",
        "<p id=\"signed-out\">You are signed out of the dashboard.</p>\
         <p><a href=\"/dashboard/login\">Sign in with GitHub</a></p>",
    )
    .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/dashboard", 0, secure),
    );
    response
}
