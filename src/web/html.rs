//! HTML building blocks. Every value that comes from the store, the planner or the
//! request goes through `escape`; only the fixed markup in this module is written raw.

use axum::response::Html;
use chrono::{DateTime, Utc};

/// Escapes text for an element body or a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the stylesheet is served (see `stylesheet`).
pub const STYLESHEET_PATH: &str = "/dashboard/style.css";

/// The dashboard's one stylesheet.
pub const STYLE: &str = include_str!("style.css");

/// A whole page: the header with the navigation, then `body` (already escaped markup).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · PromptOps</title><link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head><body>\
         <header class=\"top\"><a class=\"brand\" href=\"/dashboard\">PromptOps</a>\
         <nav><a href=\"/dashboard\">Deployments</a> <a href=\"/dashboard/runs\">Runs</a> \
         <a href=\"/dashboard/locks\">Locks</a> <a href=\"/dashboard/schedules\">Schedules</a> <a href=\"/dashboard/try\">Try a prompt</a></nav></header>\
         <main><h1>{title}</h1>\n{body}</main></body></html>\n",
        title = escape(title),
    ))
}

/// `GET /dashboard/style.css`: public (it holds nothing but style), cacheable for an hour.
pub async fn stylesheet() -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse as _;
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLE,
    )
        .into_response()
}

/// A store failure as a page that says what could not be read.
pub fn unavailable(what: &str, err: impl std::fmt::Display) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
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

/// Dollars with thousands separators and cents: "$59,203.00".
pub fn usd(amount: f64) -> String {
    promptops_core::usd(amount, 2)
}

/// A table that scrolls sideways on its own on a narrow screen, instead of the page.
pub fn table(id: &str, head: &[&str], rows: &str) -> String {
    let head: String = head.iter().map(|h| format!("<th>{h}</th>")).collect();
    format!("<div class=\"table-wrap\"><table id=\"{id}\"><tr>{head}</tr>\n{rows}</table></div>")
}

/// A run's status as a coloured badge; `id` names the element when given.
pub fn status_badge(status: promptops_store::RunStatus, id: Option<&str>) -> String {
    use promptops_store::RunStatus;
    let class = match status {
        RunStatus::Running => "running",
        RunStatus::Succeeded => "ok",
        RunStatus::Failed => "bad",
        RunStatus::Cancelled => "off",
    };
    let id = id.map(|id| format!(" id=\"{id}\"")).unwrap_or_default();
    format!(
        "<span{id} class=\"badge {class}\">{}</span>",
        status.as_str()
    )
}

/// "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago" (or "in …" for a time
/// ahead of `now`, from a clock that differs).
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let (ahead, secs) = (secs < 0, secs.unsigned_abs());
    let span = match secs {
        0..5 => return "just now".to_owned(),
        5..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        86_400..172_800 => "1 day".to_owned(),
        _ => format!("{} days", secs / 86_400),
    };
    if ahead {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// A `<time>` element: the relative time, with the absolute one as its tooltip and value.
pub fn time_tag(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        timestamp(at),
        relative(at, now)
    )
}

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Puts `markup` right after the first `marker` of an HTML response (any other response
/// is returned as it is): for what every page shows whichever module rendered it.
pub async fn insert_after(
    response: axum::response::Response,
    marker: &str,
    markup: &str,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Pages are rendered into one string before they are sent: this buffers nothing new.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the page could not be read back: {err}\n"),
            )
                .into_response();
        }
    };
    let html = String::from_utf8_lossy(&bytes);
    let html = match html.find(marker) {
        Some(at) => {
            let end = at + marker.len();
            format!("{}{markup}{}", &html[..end], &html[end..])
        }
        None => html.into_owned(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(html))
}

/// "42 s", "3 min 05 s", "1 h 02 min"; "running" while it has no end.
pub fn duration(started: DateTime<Utc>, finished: Option<DateTime<Utc>>) -> String {
    let Some(finished) = finished else {
        return "still running".to_owned();
    };
    let secs = (finished - started).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// The http(s) addresses in a run's summary or in the `Outputs:` part of its output:
/// where a deployed application answers. Trailing quotes and punctuation are not part
/// of an address.
pub fn app_urls(summary: Option<&str>, output: Option<&str>) -> Vec<String> {
    let outputs = output
        .and_then(|text| text.rfind("Outputs:").map(|at| &text[at..]))
        .unwrap_or("");
    let mut urls = Vec::new();
    for text in [summary.unwrap_or(""), outputs] {
        for word in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            let word = word.trim_end_matches(['.', ',', ';', ')', ']', '}', '`']);
            let is_url = word.starts_with("https://") || word.starts_with("http://");
            if is_url && word.len() > "https://".len() && !urls.iter().any(|u| u == word) {
                urls.push(word.to_owned());
            }
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_in_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn app_urls_come_from_the_summary_and_the_outputs_section_only() {
        let output = "Initializing provider from https://registry.example/x\n\
                      Apply complete!\n\nOutputs:\n\napp_url = \"https://app.example.com/\"\n\
                      ip = \"10.0.0.1\"\nconsole = \"http://10.0.0.1:8080\".";
        let urls = app_urls(Some("Applied; see https://app.example.com/."), Some(output));
        assert_eq!(urls, ["https://app.example.com/", "http://10.0.0.1:8080"]);
        assert!(app_urls(None, Some("no outputs https://x.example")).is_empty());
    }

    #[test]
    fn relative_times_read_naturally_and_keep_the_absolute_time() {
        let now = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let ago = |s| now - chrono::Duration::seconds(s);
        assert_eq!(relative(ago(2), now), "just now");
        assert_eq!(relative(ago(42), now), "42 s ago");
        assert_eq!(relative(ago(5 * 60 + 10), now), "5 min ago");
        assert_eq!(relative(ago(3 * 3600), now), "3 h ago");
        assert_eq!(relative(ago(3 * 86_400), now), "3 days ago");
        assert_eq!(relative(ago(-120), now), "in 2 min");
        let tag = time_tag(ago(42), now);
        assert!(tag.contains("title=\"1970-01-12 13:45:58 UTC"), "{tag}");
        assert!(tag.contains(">42 s ago</time>"), "{tag}");
    }

    #[test]
    fn dollars_have_separators_and_cents() {
        assert_eq!(usd(59_203.0), "$59,203.00");
        assert_eq!(usd(0.354), "$0.35");
        assert_eq!(usd(1_234_567.891), "$1,234,567.89");
        assert_eq!(usd(999.999), "$1,000.00");
    }

    #[test]
    fn durations_read_naturally() {
        let start = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let at = |s| Some(start + chrono::Duration::seconds(s));
        assert_eq!(duration(start, at(42)), "42 s");
        assert_eq!(duration(start, at(185)), "3 min 05 s");
        assert_eq!(duration(start, at(3720)), "1 h 02 min");
        assert_eq!(duration(start, None), "still running");
    }
}
