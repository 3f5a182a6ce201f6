//! Corrections a request makes of itself: "2 T4 VMs, no wait, 3", "4 L4 GPUs, sorry, I meant
//! 2", "us-west1, actually us-east1", "Edit: 6 instead of 5". People write requests as they
//! think; without this the first value was planned silently ("I meant 2" after "4 GPUs"
//! planned 4) or the two values were refused as ambiguous.
//!
//! A correction is a marker ("actually", "no wait", "sorry", "I meant", "make that",
//! "scratch that", "correction", "edit", "update", "on second thought", "or rather"), a few
//! words leading to the value ("make that", "we need", "it should be"), and a value that
//! starts right there: a number, "a"/"an", or a name the catalog knows. Its clause runs to
//! the end of the sentence, a closing bracket or a spaced dash, and is either a number
//! alone ("make that 3", "I meant 2, thanks") or names a value ("2 VMs", "us-east1"). A
//! marker followed by anything else ("sorry for the late request", "we actually have 3
//! VMs already", "sorry, 2 quick questions: …") is left in the text as it was.
//!
//! The text without its corrections is read first; each correction is then read on its own
//! and replaces the fields it names (`Mentions::corrected_by`), which the plan states. A
//! bare number ("make that 3") corrects the kind of count the text named; "6 instead of 5"
//! the count that was 5. When that cannot be told, the correction is refused with what to
//! write. A correction replaces the value wherever the text names it, also after it: a
//! request does not name one value, correct it, then name another.

use std::sync::LazyLock;

use promptops_core::{Catalog, ValidationError};
use regex::Regex;

use super::tokens::parse_count;
use super::{CountKind, Mentioned, Mentions, names, scan};

/// One correction: the words as written (for quotes), the value's words, the count the
/// correction says it replaces ("instead of 5"), and what its words name when they are more
/// than a number (read once, when the correction is found).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Correction {
    said: String,
    value: String,
    replaces: Option<u32>,
    named: Option<(Mentions, Vec<ValidationError>)>,
}

/// A text split into what it says without its corrections, and the corrections in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Split {
    base: String,
    corrections: Vec<Correction>,
}

/// Most corrections read in one text, and most markers looked at: a person correcting a
/// request does it a few times. Past these, markers are read as plain words, so that a long
/// text full of them costs no more than one read per correction.
const MAX_CORRECTIONS: usize = 16;
const MAX_MARKERS: usize = 64;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:no,?\s+wait|oh,?\s+wait|wait,?\s+no|oops|actually|correction|scratch\s+that|strike\s+that|sorry|i\s+meant|i\s+mean|on\s+second\s+thoughts?|or\s+rather|edit|update|make\s+(?:that|it|them))\b",
    )
    .expect("correction marker pattern")
});

// Words between a marker and its value, taken one at a time from the start of what follows:
// punctuation, further markers ("no wait, actually, make that 3"), and phrases that ask for
// the value ("we only need", "it should be", "let's go with").
static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            [\s,:;.!\u{2013}\u{2014}-]+
          | (?:no|oh|wait|oops|ok|okay|so|sorry|actually|please|then|yes|yeah|now)\b
          | i\s+meant\b | i\s+mean\b
          | (?:make|change)\s+(?:that|it|them)(?:\s+to)?\b
          | (?:we|i)(?:'ll|\u{2019}ll|\s+will|\s+would)?(?:\s+(?:only|just|actually|really|now))?\s+(?:need|want)\b
          | (?:only\s+|just\s+)?need\b
          | (?:it|that|this)\s+should\s+be\b | should\s+be\b
          | (?:it|that)(?:'s|\u{2019}s|\s+is)\b
          | let'?s\s+(?:do|say|go\s+with)\b | go\s+with\b
          | use\b | only\b | just\b
          | (?:about|around|roughly|approximately|approx\.?|maybe)\b
        )",
    )
    .expect("lead-in pattern")
});

// Where a correction's clause ends: a sentence's end, a bracket, a line, or a spaced dash.
static CLAUSE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\n;!?)\]]|\.(?:\s|$)|\s(?:--?|\u{2013}|\u{2014})\s").expect("clause end pattern")
});

static INSTEAD_OF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\binstead\s+of\b").expect("instead of pattern"));

static FIRST_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}]+(?:[-'\u{2019}._][\p{L}\p{N}]+)*").expect("word pattern")
});

/// Words that may close a bare number's correction: "make that 3 instead, thanks", "2
/// would do", "3 is enough".
fn is_closing_word(word: &str) -> bool {
    matches!(
        word,
        "now"
            | "please"
            | "pls"
            | "instead"
            | "then"
            | "thanks"
            | "thx"
            | "actually"
            | "would"
            | "will"
            | "should"
            | "do"
            | "is"
            | "be"
            | "enough"
            | "fine"
            | "ok"
            | "okay"
            | "suffice"
            | "suffices"
    )
}

/// Reads one text: what it says without its corrections, then each correction in turn.
pub(super) fn scan_corrected(text: &str, catalog: &Catalog) -> (Mentions, Vec<ValidationError>) {
    scan_corrected_after(text, None, catalog)
}

/// As `scan_corrected`, for a text that follows `before` (a comment after its issue): a
/// bare number that finds no count in its own text corrects one of `before`'s ("/promptops
/// plan make it 3" on an issue asking for 2 T4 VMs).
pub(super) fn scan_corrected_after(
    text: &str,
    before: Option<&Mentions>,
    catalog: &Catalog,
) -> (Mentions, Vec<ValidationError>) {
    let (request, unread_blocks) = scan::request_text_and_unread_blocks(text);
    let split = split(&request, catalog);
    let (mut mentions, mut errors) = scan::scan(&split.base, catalog);
    mentions
        .notices
        .extend(super::code_blocks::note(unread_blocks));
    for correction in &split.corrections {
        let from_before = before.filter(|_| !mentions.states_a_count());
        let (read, read_errors) = correction.read(from_before.unwrap_or(&mentions));
        errors.extend(read_errors);
        if let Some(before) = from_before {
            // What it corrects is in the issue, which the comment's counts replace whole:
            // the plan says which of the issue's counts this one stands for.
            let replaced = counts_replaced(before, &read);
            if !replaced.is_empty() {
                mentions.notices.push(format!(
                    "\"{}\" is read as a correction of {}",
                    correction.said,
                    replaced.join(" and ")
                ));
            }
        }
        mentions = mentions.corrected_by(read, &correction.said);
    }
    (mentions, errors)
}

/// Splits `text` into its corrections and the rest.
fn split(text: &str, catalog: &Catalog) -> Split {
    let mut base = String::with_capacity(text.len());
    let mut corrections = Vec::new();
    let mut copied = 0;
    let mut from = 0;
    let markers_looked_at = 0..MAX_MARKERS;
    for _ in markers_looked_at {
        if corrections.len() == MAX_CORRECTIONS {
            break;
        }
        let Some(marker) = MARKER.find_at(text, from) else {
            break;
        };
        from = marker.end();
        let value_start = lead_in_end(text, marker.end());
        if !starts_value(&text[value_start..], catalog) {
            continue;
        }
        let end = CLAUSE_END
            .find_at(text, value_start)
            .map_or(text.len(), |m| m.start());
        let clause = &text[value_start..end];
        let (value, replaces) = match INSTEAD_OF.find(clause) {
            Some(instead) => (
                &clause[..instead.start()],
                first_count(&clause[instead.end()..]),
            ),
            None => (clause, None),
        };
        let value = value.trim();
        // A clause that is more than a number corrects only if it names a value: "sorry, 2
        // quick questions" or "actually 2 of our engineers will log in" stay in the text,
        // read with it as before.
        let named = match bare_number(value) {
            Some(_) => None,
            None => {
                let (read, errors) = scan::scan(value, catalog);
                if !names_a_value(&read) {
                    continue;
                }
                Some((read, errors))
            }
        };
        corrections.push(Correction {
            said: text[marker.start()..end]
                .trim_end_matches([',', ' '])
                .to_owned(),
            value: value.to_owned(),
            replaces,
            named,
        });
        // "2 (actually 3)": the brackets go with the correction, so that the 2 is left as
        // it was written (alone on a form's line, read under its label).
        let before = text[..marker.start()].trim_end();
        let (start, end) = match (before.strip_suffix('('), text[end..].starts_with(')')) {
            (Some(open), true) => (open.len(), end + 1),
            _ => (marker.start(), end),
        };
        base.push_str(&text[copied..start]);
        base.push(' ');
        copied = end;
        from = end.max(from);
    }
    base.push_str(&text[copied..]);
    Split { base, corrections }
}

/// Where each correction whose value starts with a number or "a"/"an" stands in `text`:
/// the marker's start and the value's. For the lifetime, which reads its own words ("for
/// 3 days, actually 5 days").
pub(crate) fn number_corrections(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    for _ in 0..MAX_MARKERS {
        let Some(marker) = MARKER.find_at(text, from) else {
            break;
        };
        // A marker among the words leading to the value ("sorry, I meant 2") is that one.
        let value = lead_in_end(text, marker.end());
        from = value.max(marker.end());
        let Some(first) = FIRST_WORD.find(&text[value..]).filter(|m| m.start() == 0) else {
            continue;
        };
        let word = first.as_str().to_lowercase();
        if word.starts_with(|c: char| c.is_ascii_digit())
            || matches!(word.as_str(), "a" | "an")
            || parse_count(&word).is_some()
        {
            found.push((marker.start(), value));
        }
    }
    found
}

/// Where the value after a marker ending at `at` starts, past the words leading to it.
fn lead_in_end(text: &str, mut at: usize) -> usize {
    while let Some(found) = LEAD_IN
        .find(&text[at..])
        .or_else(|| MARKER.find(&text[at..]).filter(|m| m.start() == 0))
        .filter(|m| !m.is_empty())
    {
        at += found.end();
    }
    at
}

/// Whether `rest` starts with a value: a number, "a"/"an", or a name the catalog knows (a
/// GPU of up to three words, a region, a zone or a machine type). A name shaped like one
/// the catalog lacks counts too: reading the correction then refuses it by name.
fn starts_value(rest: &str, catalog: &Catalog) -> bool {
    let words: Vec<String> = FIRST_WORD
        .find_iter(rest)
        .take(3)
        .map(|m| m.as_str().to_lowercase())
        .collect();
    let Some(first) = words
        .first()
        .filter(|_| FIRST_WORD.find(rest).is_some_and(|m| m.start() == 0))
    else {
        return false;
    };
    if first.starts_with(|c: char| c.is_ascii_digit())
        || matches!(first.as_str(), "a" | "an")
        || parse_count(first).is_some()
        || !matches!(names::classify(first, catalog), Ok(None))
    {
        return true;
    }
    (1..=words.len()).any(|len| {
        let joined = words[..len].join(" ");
        let singular = joined.strip_suffix('s');
        [Some(joined.as_str()), singular]
            .into_iter()
            .flatten()
            .any(|candidate| catalog.gpu_by_alias(candidate).is_some())
    })
}

/// Whether `mentions` name anything a correction can replace.
fn names_a_value(mentions: &Mentions) -> bool {
    mentions.states_a_count()
        || !(mentions.gpu_type.is_empty()
            && mentions.gpu_requirement.is_empty()
            && mentions.region.is_empty()
            && mentions.zone.is_empty()
            && mentions.area.is_empty()
            && mentions.machine_type.is_empty()
            && mentions.boot_disk_size_gb.is_empty()
            && mentions.name.is_empty()
            && mentions.changes.is_empty())
}

/// The first whole number in `text` ("instead of 5 VMs": 5).
fn first_count(text: &str) -> Option<u32> {
    FIRST_WORD
        .find_iter(text)
        .next()
        .and_then(|m| parse_count(&m.as_str().to_lowercase()))
}

/// The number of a correction that is only a number ("make that 3", "I meant 2, thanks").
fn bare_number(value: &str) -> Option<u32> {
    let mut words = FIRST_WORD
        .find_iter(value)
        .map(|m| m.as_str().to_lowercase());
    let number = words.next().and_then(|w| parse_count(&w))?;
    let rest_closes = words.all(|w| is_closing_word(&w));
    rest_closes.then_some(number)
}

impl Correction {
    /// What the correction states, read against what the text said before it (`earlier`):
    /// a bare number becomes a count of the kind it corrects.
    fn read(&self, earlier: &Mentions) -> (Mentions, Vec<ValidationError>) {
        if let Some(named) = &self.named {
            return named.clone();
        }
        let number = bare_number(&self.value).unwrap_or_default();
        let mut mentions = Mentions::default();
        match self.corrected_kind(earlier) {
            Ok(kind) => {
                mentions.push_count(kind, Mentioned::new(number, self.said.clone()));
                (mentions, Vec::new())
            }
            Err(message) => (
                mentions,
                vec![ValidationError::new("count", &self.said, message)],
            ),
        }
    }

    /// The kind of count a bare number corrects: the one that held the number it replaces,
    /// or the only kind the text named.
    fn corrected_kind(&self, earlier: &Mentions) -> Result<CountKind, String> {
        let kinds = [
            (CountKind::Vms, &earlier.vm_count, "VMs"),
            (CountKind::PerVm, &earlier.gpus_per_vm, "GPUs per VM"),
            (CountKind::Total, &earlier.total_gpus, "GPUs in total"),
        ];
        let named: Vec<_> = kinds
            .iter()
            .filter(|(_, list, _)| !list.is_empty())
            .collect();
        let holding: Vec<_> = named
            .iter()
            .filter(|(_, list, _)| {
                self.replaces
                    .is_some_and(|old| list.iter().any(|m| m.value == old))
            })
            .collect();
        let number = bare_number(&self.value).unwrap_or_default();
        if let Some(old) = self.replaces
            && holding.is_empty()
            && !named.is_empty()
        {
            return Err(format!(
                "\"{}\" replaces {old}, but the request names no count of {old}; write \"{number} VMs\", \"{number} GPUs per VM\" or \"{number} GPUs in total\"",
                self.said
            ));
        }
        let candidates = if holding.is_empty() {
            named.clone()
        } else {
            holding.into_iter().copied().collect()
        };
        match candidates.as_slice() {
            [(kind, _, _)] => Ok(*kind),
            [] => Err(format!(
                "\"{}\" does not say what {number} counts; write \"{number} VMs\", \"{number} GPUs per VM\" or \"{number} GPUs in total\"",
                self.said
            )),
            several => Err(format!(
                "\"{}\" corrects a count, but the request names several ({}); write {}",
                self.said,
                several
                    .iter()
                    .map(|(_, list, _)| format!("\"{}\"", list[0].written))
                    .collect::<Vec<_>>()
                    .join(", "),
                several
                    .iter()
                    .map(|(_, _, noun)| format!("\"{number} {noun}\""))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        }
    }
}

impl Mentions {
    /// `correction` (read from the words `said`) replaces the values it names: each count
    /// on its own, the GPU (with its machine type) and the location as groups, the disk and
    /// the name. Each replaced value is stated in the plan.
    pub(super) fn corrected_by(mut self, correction: Mentions, said: &str) -> Mentions {
        let mut replaced = Vec::new();
        replace(&mut self.vm_count, correction.vm_count, &mut replaced);
        replace(&mut self.gpus_per_vm, correction.gpus_per_vm, &mut replaced);
        replace(&mut self.total_gpus, correction.total_gpus, &mut replaced);
        if !(correction.gpu_type.is_empty() && correction.gpu_requirement.is_empty()) {
            replace(&mut self.gpu_type, correction.gpu_type, &mut replaced);
            self.gpu_requirement = correction.gpu_requirement;
            if !correction.machine_type.is_empty() {
                self.machine_type = correction.machine_type;
            }
        } else {
            replace(
                &mut self.machine_type,
                correction.machine_type,
                &mut replaced,
            );
        }
        if !(correction.region.is_empty()
            && correction.zone.is_empty()
            && correction.area.is_empty())
        {
            replace(&mut self.region, correction.region, &mut replaced);
            replace(&mut self.zone, correction.zone, &mut replaced);
            self.area = correction.area;
            self.zone_letter = correction.zone_letter;
        }
        replace(
            &mut self.boot_disk_size_gb,
            correction.boot_disk_size_gb,
            &mut replaced,
        );
        replace(&mut self.name, correction.name, &mut replaced);
        self.changes.extend(correction.changes);
        self.unclear.extend(correction.unclear);
        self.notices.extend(correction.notices);
        if !replaced.is_empty() {
            self.notices.push(format!(
                "\"{said}\" is read as a correction of {}",
                replaced.join(" and ")
            ));
        }
        self.unquantified.extend(correction.unquantified);
        self.model_memory.extend(correction.model_memory);
        self.biggest.extend(correction.biggest);
        self
    }
}

/// The words of `earlier`'s counts that `later`'s counts would replace.
fn counts_replaced(earlier: &Mentions, later: &Mentions) -> Vec<String> {
    let mut replaced = Vec::new();
    for (old, new) in [
        (&earlier.vm_count, &later.vm_count),
        (&earlier.gpus_per_vm, &later.gpus_per_vm),
        (&earlier.total_gpus, &later.total_gpus),
    ] {
        replace(&mut old.clone(), new.clone(), &mut replaced);
    }
    replaced
}

/// Replaces `earlier` by `later` when `later` names anything; the words of a value that
/// changes go to `replaced`.
fn replace<T: PartialEq>(
    earlier: &mut Vec<Mentioned<T>>,
    later: Vec<Mentioned<T>>,
    replaced: &mut Vec<String>,
) {
    if later.is_empty() {
        return;
    }
    let changed = !earlier.is_empty()
        && earlier
            .iter()
            .any(|old| later.iter().all(|new| new.value != old.value));
    if changed {
        replaced.extend(earlier.iter().map(|m| format!("\"{}\"", m.written)));
    }
    *earlier = later;
}
