//! An end date written as a day of the year: "until Dec 20", "until December 20th", "till
//! 20 Dec", "until the 20th of December", "until Dec 20 2026". Without a year it is the
//! next such day after the request is planned, as a weekday is.

use promptops_core::ExpiryRequest;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A month's number (1–12) from its English name or an abbreviation of at least three
/// letters ("dec", "sept", "dec.").
fn month(word: &str) -> Option<u32> {
    let word = word.trim_end_matches('.');
    if word.len() < 3 {
        return None;
    }
    let index = MONTHS.iter().position(|name| name.starts_with(word))?;
    u32::try_from(index + 1).ok()
}

/// A day of a month: "20", "20th", "1st".
fn day(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year(word: Option<&String>) -> Option<i32> {
    let word = word?;
    (word.len() == 4)
        .then(|| word.parse().ok())
        .flatten()
        .filter(|y| (2000..2100).contains(y))
}

/// The day of the year at the start of `words` (lower case) and how many words it took;
/// `Some((None, _))` for a day no year has ("Feb 30", "Feb 29 2027").
pub(super) fn read(words: &[String]) -> Option<(Option<ExpiryRequest>, usize)> {
    let word = |i: usize| words.get(i).map(String::as_str);
    let (month, day, taken) = match (word(0).and_then(month), word(0).and_then(day)) {
        (Some(month), _) => (month, word(1).and_then(day)?, 2),
        (None, Some(day)) => {
            let of = usize::from(word(1) == Some("of"));
            (word(1 + of).and_then(month)?, day, 2 + of)
        }
        (None, None) => return None,
    };
    let request = match year(words.get(taken)) {
        Some(year) => {
            return Some((ExpiryRequest::through_date(year, month, day), taken + 1));
        }
        None => ExpiryRequest::through_month_day(month, day),
    };
    Some((request, taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn days_of_the_year() {
        let dec_20 = ExpiryRequest::through_month_day(12, 20);
        for text in [
            "dec 20",
            "december 20th",
            "20 dec",
            "20th of december",
            "dec. 20",
        ] {
            assert_eq!(
                read(&words(text)),
                Some((dec_20, words(text).len())),
                "{text}"
            );
        }
        let dated = ExpiryRequest::through_date(2026, 12, 20);
        assert_eq!(read(&words("dec 20 2026")), Some((dated, 3)));
        assert_eq!(read(&words("feb 30")), Some((None, 2)));
        assert_eq!(read(&words("feb 29 2027")), Some((None, 3)));
        for text in ["the demo", "mar", "20 vms", "de 20", "friday"] {
            assert_eq!(read(&words(text)), None, "{text}");
        }
    }
}
