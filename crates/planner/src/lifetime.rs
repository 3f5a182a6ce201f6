//! How long the request says the deployment is needed, read from its text by the offline
//! planner: "for 2 days", "for a week", "for 36 hours", "until Friday", "until 2026-12-04",
//! or the keys `expires_in: 3d` / `expires_at: 2026-12-04` written out. The model planner
//! answers the same with its `expires_in`/`expires_at` fields; both end in core's
//! [`ExpiryRequest`], validated the same way.

use std::sync::LazyLock;

use promptops_core::{ExpiryRequest, Lifetime, ValidationError};
use regex::Regex;

static FOR_SPAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bfor\s+(?:the\s+next\s+)?(?P<n>\d+|an?|one|two|three|four|five|six|seven|ten|fourteen)\s+(?P<unit>hours?|days?|weeks?)\b",
    )
    .expect("lifetime pattern")
});

static UNTIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:until|till|through|thru)\s+(?:(?:next|this)\s+)?(?P<end>\d{4}-\d{2}-\d{2}|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    )
    .expect("until pattern")
});

static KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<key>expires_in|expires_at)\s*[:=]\s*(?P<value>[A-Za-z0-9-]+)")
        .expect("expiry keys pattern")
});

fn number(word: &str) -> Option<u32> {
    Some(match word.to_ascii_lowercase().as_str() {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "ten" => 10,
        "fourteen" => 14,
        digits => digits.parse().ok()?,
    })
}

/// The expiry `text` asks for; `Err` names a lifetime that cannot be one ("for 900 days").
/// The last statement wins, so that a `/promptops plan for 3 days` overrides the issue.
pub fn read(text: &str) -> Result<Option<ExpiryRequest>, ValidationError> {
    let mut found: Vec<(usize, Result<ExpiryRequest, ValidationError>)> = Vec::new();
    for caps in FOR_SPAN.captures_iter(text) {
        let whole = caps.get(0).expect("match");
        let unit = caps["unit"].trim_end_matches('s').to_ascii_lowercase();
        let hours_per = match unit.as_str() {
            "hour" => 1,
            "day" => 24,
            _ => 24 * 7,
        };
        let lifetime = number(&caps["n"])
            .and_then(|n| n.checked_mul(hours_per))
            .and_then(Lifetime::from_hours)
            .map(|lifetime| ExpiryRequest::For { lifetime })
            .ok_or_else(|| {
                ValidationError::new(
                    "expires_in",
                    whole.as_str(),
                    format!(
                        "is not a lifetime PromptOps can hold: at most {} days",
                        promptops_core::MAX_SANE_LIFETIME_HOURS / 24
                    ),
                )
            });
        found.push((whole.start(), lifetime));
    }
    for caps in UNTIL.captures_iter(text) {
        let at = caps.get(0).expect("match").start();
        let end = &caps["end"];
        let request = ExpiryRequest::parse_end(end)
            .ok_or_else(|| ValidationError::new("expires_at", end, "is not a date (YYYY-MM-DD)"));
        found.push((at, request));
    }
    for caps in KEYS.captures_iter(text) {
        let at = caps.get(0).expect("match").start();
        let value = &caps["value"];
        let request = if caps["key"].eq_ignore_ascii_case("expires_in") {
            value
                .parse::<Lifetime>()
                .map(|lifetime| ExpiryRequest::For { lifetime })
                .map_err(|err| ValidationError::new("expires_in", value, err.to_string()))
        } else {
            ExpiryRequest::parse_end(value).ok_or_else(|| {
                ValidationError::new(
                    "expires_at",
                    value,
                    "expected a date (YYYY-MM-DD) or a weekday name",
                )
            })
        };
        found.push((at, request));
    }
    found.sort_by_key(|(at, _)| *at);
    found.pop().map(|(_, request)| request).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetime(text: &str) -> ExpiryRequest {
        ExpiryRequest::For {
            lifetime: text.parse().unwrap(),
        }
    }

    #[test]
    fn phrasings() {
        assert_eq!(read("5 T4 VMs for 2 days").unwrap(), Some(lifetime("2d")));
        assert_eq!(
            read("an A100 for a week please").unwrap(),
            Some(lifetime("1w"))
        );
        assert_eq!(
            read("for the next 36 hours").unwrap(),
            Some(lifetime("36h"))
        );
        assert_eq!(
            read("a demo until Friday").unwrap(),
            ExpiryRequest::parse_end("friday")
        );
        assert_eq!(read("expires_in: 3d").unwrap(), Some(lifetime("3d")));
        assert_eq!(read("2 T4 VMs in us-west1").unwrap(), None);
        assert_eq!(read("for 2 months").unwrap(), None, "months are not read");
    }

    #[test]
    fn the_last_statement_wins_and_absurd_ones_are_named() {
        assert_eq!(
            read("for 2 days\n\nactually for 5 days").unwrap(),
            Some(lifetime("5d"))
        );
        let err = read("for 900 days").unwrap_err();
        assert_eq!(err.field, "expires_in");
        assert!(err.message.contains("366 days"), "{err}");
    }
}
