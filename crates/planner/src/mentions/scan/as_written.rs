//! The words a refusal quotes, as the user wrote them. The scanner reads a rewritten text
//! (compatibility forms folded, "½" written out as "1/2", look-alike letters read as Latin,
//! accents dropped, lower case), so its words are not what was typed: quoting them would
//! answer "½ A100" with "1/2 a100". The refused words are found again in the request:
//! each whitespace-separated piece of it is read as the scanner reads text, and the pieces
//! that read as the refused words (their same occurrence) are quoted, without characters
//! at either end that read as nothing ("(", a sentence's full stop). When they cannot be
//! found (or would not show as written), the scanner's words are quoted.

use std::cell::{Cell, OnceCell};
use std::ops::Range;

use super::Scanner;
use crate::mentions::normalise::normalise;
use crate::mentions::tokens::{Token, tokenize};

/// Longest stretch of the request trimmed into a quote, in bytes: the refused words are a
/// handful, and a piece glued to much more text ("T4*T4*…*1.5*A100") would otherwise be
/// read again, whole, for each character trimmed.
const MAX_STRETCH: usize = 256;

/// Most quotes found as written in one request: finding one is a pass over the whole
/// request, and a request can repeat a refused count thousands of times. The rest are
/// quoted as read.
const MAX_FOUND: usize = 16;

/// The request as written, with the words the scanner reads in each piece of it.
pub(super) struct AsWritten<'t> {
    text: &'t str,
    pieces: Vec<Range<usize>>,
    /// Every word read, with the index of the piece it was read from.
    words: Vec<(String, usize)>,
    /// Quotes looked for so far.
    looked_for: Cell<usize>,
    /// Colons looked for so far: a budget of their own, so that looking for them never
    /// leaves a refusal's quote unfound.
    colons_looked_for: Cell<usize>,
}

impl<'t> AsWritten<'t> {
    fn new(text: &'t str) -> AsWritten<'t> {
        let mut pieces = Vec::new();
        let mut start = None;
        for (at, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(from)) => {
                    pieces.push(from..at);
                    start = None;
                }
                (false, None) => start = Some(at),
                _ => {}
            }
        }
        if let Some(from) = start {
            pieces.push(from..text.len());
        }
        let words = pieces
            .iter()
            .enumerate()
            .flat_map(|(n, piece)| read(&text[piece.clone()]).into_iter().map(move |w| (w, n)))
            .collect();
        AsWritten {
            text,
            pieces,
            words,
            looked_for: Cell::new(0),
            colons_looked_for: Cell::new(0),
        }
    }

    /// The text that reads as `words`, at their `occurrence`th appearance (from 0); `None`
    /// once `MAX_FOUND` quotes were looked for.
    fn find(&self, words: &[&str], occurrence: impl FnOnce() -> usize) -> Option<&'t str> {
        let looked_for = self.looked_for.get();
        self.looked_for.set(looked_for + 1);
        if words.is_empty() || looked_for >= MAX_FOUND {
            return None;
        }
        let start = self
            .words
            .windows(words.len())
            .enumerate()
            .filter(|(_, window)| same(window.iter().map(|(w, _)| w.as_str()), words))
            .nth(occurrence())?
            .0;
        let first = self.pieces[self.words[start].1].start;
        let last = self.pieces[self.words[start + words.len() - 1].1].end;
        (last - first <= MAX_STRETCH)
            .then(|| self.trimmed(first..last, words))
            .flatten()
    }

    /// Whether the `occurrence`th appearance of `word` is written right after a ":" or an
    /// "=", as a label's value is ("Team size: 12", "size=12"); false when it cannot be
    /// found.
    fn follows_colon(&self, word: &str, occurrence: impl FnOnce() -> usize) -> bool {
        let looked_for = self.colons_looked_for.get();
        self.colons_looked_for.set(looked_for + 1);
        if looked_for >= MAX_FOUND {
            return false;
        }
        let Some(&(_, piece)) = self
            .words
            .iter()
            .filter(|(read, _)| read == word)
            .nth(occurrence())
        else {
            return false;
        };
        let piece = self.pieces[piece].clone();
        // Where the word starts in its piece ("size:12"); the piece's start when it is
        // not written as read (a folded form).
        let at = self.text[piece.clone()].rfind(word).unwrap_or(0);
        self.text[..piece.start + at]
            .trim_end()
            .ends_with([':', '='])
    }

    /// `range` without the characters at its ends that the refused words do without; the
    /// result reads as `words` exactly, or there is none.
    fn trimmed(&self, mut range: Range<usize>, words: &[&str]) -> Option<&'t str> {
        let holds = |range: &Range<usize>| {
            read(&self.text[range.clone()])
                .windows(words.len())
                .any(|window| same(window.iter().map(String::as_str), words))
        };
        while let Some(c) = self.text[range.clone()].chars().next() {
            let shorter = range.start + c.len_utf8()..range.end;
            if !holds(&shorter) {
                break;
            }
            range = shorter;
        }
        while let Some(c) = self.text[range.clone()].chars().next_back() {
            let shorter = range.start..range.end - c.len_utf8();
            if !holds(&shorter) {
                break;
            }
            range = shorter;
        }
        let quote = &self.text[range];
        same(read(quote).iter().map(String::as_str), words).then_some(quote)
    }
}

/// `quote` on one line (each run of whitespace one space), unless it holds a character
/// that would not show as itself (a control or bidirectional formatting character): the
/// message carries it unescaped.
fn one_line(quote: &str) -> Option<String> {
    let shown = |c: char| matches!(c, '"' | '\'' | '\\') || c.escape_debug().len() == 1;
    let line = quote.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().all(shown).then_some(line)
}

/// The words the scanner reads in `text` (the rewrites that depend on the rest of the
/// request aside: deployment names, references, "US").
fn read(text: &str) -> Vec<String> {
    let normalised = normalise(text).text;
    tokenize(&promptops_core::fold_accents(&normalised))
        .into_iter()
        .filter_map(|token| match token {
            Token::Word(word) => Some(word),
            Token::Break(_) => None,
        })
        .collect()
}

fn same<'w>(read: impl Iterator<Item = &'w str>, words: &[&str]) -> bool {
    read.eq(words.iter().copied())
}

/// Built on the first quote: most requests refuse nothing.
pub(super) type Lazy<'t> = OnceCell<AsWritten<'t>>;

impl Scanner<'_> {
    /// Tokens `from..=to` as the user wrote them ("½ A100"); the scanner's words ("1/2
    /// a100") when they cannot be found in the request.
    pub(super) fn quoted(&self, from: usize, to: usize) -> String {
        let words = self.words_of(from, to);
        let as_written = self.as_written.get_or_init(|| AsWritten::new(self.request));
        as_written
            .find(&words, || self.occurrence(from, to))
            .and_then(one_line)
            .unwrap_or_else(|| words.join(" "))
    }

    /// Whether the word at `i` is written right after a ":" or an "=": the value of a
    /// label on its own line ("Team size: 12"), which the tokens do not show.
    pub(super) fn written_after_colon(&self, i: usize) -> bool {
        let Some(word) = self.word(i) else {
            return false;
        };
        let as_written = self.as_written.get_or_init(|| AsWritten::new(self.request));
        as_written.follows_colon(word, || self.occurrence(i, i))
    }

    fn words_of(&self, from: usize, to: usize) -> Vec<&str> {
        (from..=to).filter_map(|i| self.word(i)).collect()
    }

    /// Which appearance of the words `from..=to` this is: as many start before it.
    fn occurrence(&self, from: usize, to: usize) -> usize {
        let words = self.words_of(from, to);
        let scanned: Vec<&str> = self.tokens[..=to].iter().filter_map(Token::word).collect();
        let words_before = (0..from).filter(|&i| self.word(i).is_some()).count();
        scanned
            .windows(words.len().max(1))
            .take(words_before)
            .filter(|window| *window == words.as_slice())
            .count()
    }
}
