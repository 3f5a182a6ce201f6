//! The OAuth side of the fake: the App's client, who signs in, who is a member.

use super::FakeGithub;
use crate::fault::lock;

/// Sign-in with GitHub (the web application flow for the App's user access tokens).
impl FakeGithub {
    /// The App's OAuth client id, for `GITHUB_CLIENT_ID`.
    pub fn oauth_client_id(&self) -> String {
        lock(&self.state).oauth.client_id.clone()
    }

    /// The App's OAuth client secret, for `GITHUB_CLIENT_SECRET`.
    pub fn oauth_client_secret(&self) -> String {
        lock(&self.state).oauth.client_secret.clone()
    }

    /// The person at the browser is signed in to GitHub as `login` and approves the App
    /// on the authorization page (the fake redirects back at once with a code).
    pub fn set_oauth_user(&self, login: &str) {
        lock(&self.state).oauth.consent =
            crate::routes::oauth::Consent::ApproveAs(login.to_string());
    }

    /// The person at the browser cancels on the authorization page: the fake redirects
    /// back with `error=access_denied`.
    pub fn deny_oauth(&self) {
        lock(&self.state).oauth.consent = crate::routes::oauth::Consent::Deny;
    }

    /// Makes `login` one of the people who can reach installation `installation_id`
    /// (listed by `GET /user/installations` with their user token).
    pub fn add_installation_member(&self, installation_id: u64, login: &str) {
        let mut st = lock(&self.state);
        assert!(
            st.installations.contains_key(&installation_id),
            "fake GitHub: installation {installation_id} does not exist (add_installation first)"
        );
        st.oauth.add_member(installation_id, login);
    }

    /// How many authorization codes were exchanged for user access tokens.
    pub fn oauth_tokens_issued(&self) -> usize {
        lock(&self.state).oauth.tokens_issued
    }
}
