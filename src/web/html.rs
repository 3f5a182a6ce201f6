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

/// A whole page: the navigation, then `body` (already escaped markup).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · PromptOps</title><style>{STYLE}</style></head><body>\
         <nav><a href=\"/dashboard\">Deployments</a> <a href=\"/dashboard/runs\">Runs</a> \
         <a href=\"/dashboard/locks\">Locks</a> <a href=\"/dashboard/schedules\">Schedules</a> <a href=\"/dashboard/try\">Try a prompt</a></nav>\
         <main><h1>{title}</h1>\n{body}</main></body></html>\n",
        title = escape(title),
    ))
}

/// Every page's one style sheet, inline: the Content-Security-Policy allows it by hash
/// (see `headers`), so pages carry no `style` attributes.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;}\
nav a{margin-right:1rem;}table{border-collapse:collapse;}\
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;}\
pre{background:#f4f4f4;padding:.75rem;overflow-x:auto;}\
.error{color:#a00;}textarea{width:100%;max-width:48rem;}.inline{display:inline;}";

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
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
    fn durations_read_naturally() {
        let start = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let at = |s| Some(start + chrono::Duration::seconds(s));
        assert_eq!(duration(start, at(42)), "42 s");
        assert_eq!(duration(start, at(185)), "3 min 05 s");
        assert_eq!(duration(start, at(3720)), "1 h 02 min");
        assert_eq!(duration(start, None), "still running");
    }
}
