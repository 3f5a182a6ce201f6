//! A count asked for without what it counts: "make it 3", "scale down to 2", "we only need
//! 4". Nothing says whether VMs or GPUs are meant, so the number is not read; when no count
//! was read at all it is refused (a follow-up comment would otherwise plan the deployment
//! unchanged, a first request the default count), and otherwise it is named in the plan's
//! assumptions.

use promptops_core::ValidationError;

use super::tokens::Boundary;
use super::{Role, Scanner, Token};

/// Verbs that set a count: "scale down to 2", "reduce it to 3", "make it 3".
fn sets_a_count(word: &str) -> bool {
    matches!(
        word,
        "make"
            | "scale"
            | "scaling"
            | "reduce"
            | "cut"
            | "go"
            | "down"
            | "up"
            | "increase"
            | "decrease"
            | "change"
            | "set"
            | "bump"
            | "drop"
            | "lower"
            | "raise"
            | "grow"
            | "shrink"
            | "resize"
    )
}

/// Words that may end a request after its count: "we only need 2 now".
fn is_closing_word(word: &str) -> bool {
    matches!(
        word,
        "now" | "please" | "pls" | "plz" | "instead" | "then" | "thanks" | "thx" | "asap" | "today"
    )
}

impl Scanner<'_> {
    /// Where the words asking for the whole number at `i` start ("make it", "scale down
    /// to", "only need"), when it is asked for with nothing after it.
    fn asked_for_bare(&self, i: usize) -> Option<usize> {
        let word = self.free_word(i)?;
        if !word.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut end = i + 1;
        while self.word(end).is_some_and(is_closing_word) {
            end += 1;
        }
        // "need 2 in us-west1": a place after it says nothing of what is counted either.
        if matches!(self.word(end), Some("in" | "at"))
            && matches!(self.roles.get(end + 1), Some(Role::Name(_) | Role::Used))
        {
            end += 2;
            while self.word(end).is_some_and(is_closing_word) {
                end += 1;
            }
        }
        if self.word(end).is_some() {
            return None;
        }
        if let Some(from) = self.alone_between_commas(i) {
            return Some(from);
        }
        // "need at least 2", "need about 4": the qualifier says nothing of what is counted.
        let mut start = i;
        while start > 0
            && self.word(start - 1).is_some_and(|w| {
                matches!(w, "at" | "least" | "about" | "around" | "roughly" | "maybe")
            })
        {
            start -= 1;
        }
        let before = |back: usize| start.checked_sub(back).and_then(|j| self.word(j));
        match (before(3), before(2), before(1)) {
            (_, Some("make"), Some("it" | "that" | "them")) => Some(start - 2),
            // "scale down to 2", "reduce it to 2" before "down to 2".
            (Some(verb), Some(_), Some("to")) if sets_a_count(verb) => Some(start - 3),
            (_, Some(verb), Some("to")) if sets_a_count(verb) => Some(start - 2),
            (_, Some("only" | "just"), Some("need" | "want")) => Some(start - 2),
            (_, _, Some("need" | "want" | "only" | "just")) => Some(start - 1),
            _ => None,
        }
    }

    /// "T4,2,us-west1", "L4, 3": a small whole number alone after a comma (where the
    /// words before it start), with nothing after it in its clause. (A year, "Dec 5,
    /// 2026", is no count.)
    fn alone_between_commas(&self, i: usize) -> Option<usize> {
        let number: u32 = self.word(i)?.parse().ok()?;
        if number >= 1000 || i < 2 || self.tokens[i - 1] != Token::Break(Boundary::Mark) {
            return None;
        }
        let from = i - 2;
        self.word(from).map(|_| from)
    }

    /// Refuses (or notes, when other counts were read) a count asked for without what it
    /// counts: "make it 3", "scale down to 2".
    pub(super) fn refuse_bare_counts(&mut self) {
        let mentions = &self.mentions;
        let nothing_read = !mentions.states_a_count() && mentions.changes.is_empty();
        for i in 0..self.tokens.len() {
            let Some(from) = self.asked_for_bare(i) else {
                continue;
            };
            let written = self.quoted(from, i);
            let number = self.quoted(i, i);
            let what = format!("\"{written}\" does not say what {number} counts");
            if nothing_read {
                self.errors.push(ValidationError::new(
                    "count",
                    &written,
                    format!(
                        "{what}; write \"{number} VMs\", \"{number} GPUs per VM\" or \"{number} GPUs in total\""
                    ),
                ));
            } else {
                self.mentions
                    .notices
                    .push(format!("{what}; it was not read"));
            }
            self.roles[i] = Role::Used;
        }
    }
}
