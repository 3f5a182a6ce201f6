//! The loopback-open dashboard's link, as the operator uses it: opened once in a browser,
//! it leaves the cookie every later page needs.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, LOCATION, SET_COOKIE};

use promptops::web::local_link::LOCAL_COOKIE;

/// Opens `link` (`…?access=<secret>`) as a browser would and returns the cookie it leaves,
/// as `name=value`; checks that the answer sends the browser to the same page without the
/// secret.
pub async fn open_local_link(link: &str) -> String {
    open_secret_link(link, LOCAL_COOKIE).await
}

/// Opens a dashboard or setup page with `?token=<PROMPTOPS_DASHBOARD_TOKEN>` as a browser
/// would and returns the cookie it leaves (the token itself leaves the address too).
pub async fn open_token_link(link: &str) -> String {
    open_secret_link(link, "promptops_dashboard").await
}

async fn open_secret_link(link: &str, cookie_name: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "opening {link}");
    let url = url::Url::parse(link).unwrap();
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert_eq!(location, url.path(), "the secret leaves the address");
    let set_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{cookie_name}=")))
        .unwrap_or_else(|| panic!("{link} set no {cookie_name} cookie"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A client that sends `cookie` (`name=value`) with every request that sets no `Cookie`
/// of its own.
pub fn client_with_cookie(cookie: Option<&str>) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    if let Some(cookie) = cookie {
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// `cookies` joined into one `Cookie` header value, the absent ones left out.
pub fn cookies(cookies: &[Option<&str>]) -> String {
    cookies
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join("; ")
}
