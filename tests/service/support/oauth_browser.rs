//! What the dashboard sign-in tests share: the service with sign-in on a public bind, and
//! a browser that follows GitHub's OAuth redirects by hand and keeps cookies per host.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use promptops::web::session::SESSION_COOKIE;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};

use super::html::element_text;
use super::{Options, TestService};

pub const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// As if bound to every interface: without sign-in configured this would be refused.
pub fn public_bind() -> Option<SocketAddr> {
    Some("0.0.0.0:3000".parse().unwrap())
}

pub async fn with_sign_in() -> TestService {
    TestService::start(Options {
        github_sign_in: true,
        dashboard_bind: public_bind(),
        ..Options::default()
    })
    .await
}

/// One answer on the way, as the browser saw it.
#[derive(Debug)]
pub struct Hop {
    pub url: String,
    pub status: StatusCode,
    pub set_cookies: Vec<String>,
}

/// A browser: follows redirects by hand, keeps cookies per host (ports ignored, as
/// browsers do), sends them back, asks for HTML.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: BTreeMap<String, String>,
    pub hops: Vec<Hop>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            hops: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep_cookies(&mut self, response: &reqwest::Response) -> Vec<String> {
        let mut seen = Vec::new();
        for value in response.headers().get_all(SET_COOKIE) {
            let line = value.to_str().unwrap().to_owned();
            let (pair, attributes) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
            seen.push(line);
        }
        seen
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request
            .header(ACCEPT, HTML)
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let set_cookies = self.keep_cookies(&response);
        self.hops.push(Hop {
            url: response.url().to_string(),
            status: response.status(),
            set_cookies,
        });
        response
    }

    /// GETs `url` and follows redirects; the last answer's status, address and page.
    pub async fn open(&mut self, url: &str) -> (StatusCode, String, String) {
        let mut url = url::Url::parse(url).unwrap();
        for _ in 0..10 {
            let response = self.send(self.http.get(url.clone())).await;
            if response.status().is_redirection() {
                let location = response.headers()[LOCATION].to_str().unwrap();
                url = url.join(location).unwrap();
                continue;
            }
            let status = response.status();
            return (status, url.to_string(), response.text().await.unwrap());
        }
        panic!("more than 10 redirects: {:#?}", self.hops);
    }

    pub fn session_cookie(&self) -> Option<&str> {
        self.jar.get(SESSION_COOKIE).map(String::as_str)
    }
}

/// Signs `login` in through the whole flow and checks where it ends.
pub async fn sign_in(service: &TestService, login: &str) -> Browser {
    service.github.set_oauth_user(login);
    let mut browser = Browser::new();
    let (status, url, page) = browser.open(&service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::OK, "{page}\n{:#?}", browser.hops);
    assert_eq!(
        url,
        service.url("/dashboard/runs"),
        "back on the page asked for"
    );
    assert_eq!(
        element_text(&page, "login").as_deref(),
        Some(login),
        "{page}"
    );
    browser
}
