//! What a newcomer sees before a GitHub App is connected: `/` leads to the setup page
//! (afterwards to the dashboard), and every dashboard page carries a banner linking to it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::setup::AppSlot;

/// The banner's markup; `id="setup-banner"` for whoever looks for it.
const BANNER: &str = "<p class=\"banner\" id=\"setup-banner\">No GitHub App is connected yet: \
    webhooks are refused and nothing is planned or applied. \
    <a href=\"/setup\">Connect one on the setup page</a>.</p>";

/// `GET /`: the setup page while no App is connected, else the dashboard.
pub async fn root(State(slot): State<AppSlot>) -> Response {
    match slot.load() {
        Some(_) => Redirect::to("/dashboard").into_response(),
        None => Redirect::to("/setup").into_response(),
    }
}

/// Middleware over the dashboard's pages: the banner at the top of the page's content
/// while no App is connected.
pub async fn banner(State(slot): State<AppSlot>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if slot.load().is_some() {
        return response;
    }
    super::html::insert_after(response, "<main>", BANNER).await
}
