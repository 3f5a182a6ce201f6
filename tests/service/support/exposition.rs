//! Reading `/metrics`: the OpenMetrics text exposition parsed into samples, strictly (any
//! line that is not a comment, a sample or the `# EOF` terminator fails the test).

use std::collections::{BTreeMap, HashMap};

use super::TestService;

/// A sample's identity: metric name and its labels, sorted.
pub type SampleKey = (String, BTreeMap<String, String>);

/// The samples of an OpenMetrics text exposition. Panics, naming the line, on anything
/// that is not a comment, a `# EOF` terminator or a `name{labels} value` sample, and
/// when the exposition does not end with `# EOF`.
pub fn parse_exposition(text: &str) -> HashMap<SampleKey, f64> {
    let body = text
        .strip_suffix("# EOF\n")
        .unwrap_or_else(|| panic!("the exposition does not end with `# EOF`:\n{text}"));
    let mut samples = HashMap::new();
    for line in body.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&kind),
                "unknown comment line {line:?}"
            );
            continue;
        }
        let (key, value) = parse_sample(line);
        assert!(
            samples.insert(key.clone(), value).is_none(),
            "sample {key:?} appears twice"
        );
    }
    samples
}

pub fn parse_sample(line: &str) -> (SampleKey, f64) {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = &line[..name_end];
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices();
        loop {
            let (start, first) = chars.next().unwrap_or_else(|| panic!("unclosed {line:?}"));
            if first == '}' {
                rest = &after_brace[start + 1..];
                break;
            }
            if first == ',' {
                continue;
            }
            let eq = after_brace[start..]
                .find("=\"")
                .unwrap_or_else(|| panic!("label without =\" in {line:?}"));
            let label = after_brace[start..start + eq].to_owned();
            // Skip the name and `="`, then read the escaped value up to its closing quote.
            for _ in 0..eq + 1 {
                chars.next();
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('"' | '\\')) => value.push(c),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    Some(c) => value.push(c),
                    None => panic!("unterminated label value in {line:?}"),
                }
            }
            assert!(labels.insert(label, value).is_none(), "{line:?}");
        }
    }
    let value_text = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .unwrap_or_else(|err| panic!("bad value {other:?} in {line:?}: {err}")),
    };
    ((name.to_owned(), labels), value)
}

fn key(name: &str, labels: &[(&str, &str)]) -> SampleKey {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (name.to_owned(), labels)
}

/// The value of a sample, 0 when the exposition lacks it.
pub fn sample(samples: &HashMap<SampleKey, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples.get(&key(name, labels)).copied().unwrap_or(0.0)
}

/// Like [`sample`], for a sample that must be in the exposition.
pub fn present(samples: &HashMap<SampleKey, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = key(name, labels);
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("the exposition lacks {key:?}"))
}

pub async fn scrape(service: &TestService) -> HashMap<SampleKey, f64> {
    parse_exposition(&scrape_text(service).await)
}

/// The exposition as served, checked for its content type.
pub async fn scrape_text(service: &TestService) -> String {
    let response = service
        .http
        .get(service.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// `# TYPE` of each metric family in the exposition.
pub fn family_types(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').expect("TYPE line with a type");
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// The change of every sample between two scrapes.
pub fn moved_by<'a>(
    before: &'a HashMap<SampleKey, f64>,
    after: &'a HashMap<SampleKey, f64>,
) -> impl Fn(&str, &[(&str, &str)]) -> f64 + 'a {
    move |name, labels| sample(after, name, labels) - sample(before, name, labels)
}
