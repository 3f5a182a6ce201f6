//! Where each token's line starts and ends, and whether the line is a table's row, found in
//! one pass over the tokens. The labels' lookups ask this for every count without a noun,
//! and a long request on one line can hold thousands of them: walking the line each time
//! made such a request quadratic in its length.

use std::ops::Range;

use super::tokens::{Boundary, Token};

pub(super) struct Lines {
    /// For each token, its line's index in `rows`; a line break belongs to the line it ends.
    line_of: Vec<usize>,
    /// Each line's tokens without its break, and whether a table's column separator is
    /// among them.
    rows: Vec<(Range<usize>, bool)>,
}

impl Lines {
    pub(super) fn new(tokens: &[Token]) -> Self {
        let mut line_of = Vec::with_capacity(tokens.len());
        let mut rows = Vec::new();
        let (mut start, mut cell) = (0, false);
        for (j, token) in tokens.iter().enumerate() {
            line_of.push(rows.len());
            match token {
                Token::Break(Boundary::Line) => {
                    rows.push((start..j, cell));
                    (start, cell) = (j + 1, false);
                }
                Token::Break(Boundary::Cell) => cell = true,
                _ => {}
            }
        }
        rows.push((start..tokens.len(), cell));
        Lines { line_of, rows }
    }

    /// The tokens of the line that holds the token at `i` (or ends at it, for a line
    /// break), without its break.
    pub(super) fn row_of(&self, i: usize) -> Range<usize> {
        let line = self.line_of.get(i).copied().unwrap_or(self.rows.len() - 1);
        self.rows[line].0.clone()
    }

    /// Whether `row`, one of the ranges `row_of` gives, holds a column separator.
    pub(super) fn is_table_row(&self, row: &Range<usize>) -> bool {
        let line = self
            .line_of
            .get(row.start)
            .copied()
            .unwrap_or(self.rows.len() - 1);
        let (range, cell) = &self.rows[line];
        debug_assert_eq!(range, row, "a row is one of the lines");
        *cell
    }
}
