//! Counts that stand apart from their noun, under a label: a form's "VMs: 3" or its answer
//! on the line below ("### Number of VMs⏎⏎3"), a key-value table's cell beside its label
//! ("| VMs | 3 |"), and a table's column under its header ("| GPUs per VM | VMs |⏎|---|---|⏎|
//! 2 | 3 |"). In a table a label is looked for in the count's own row or its column's
//! header, never in the row above: that would read the header's last cell as the label of
//! the first cell below it.

use std::ops::Range;

use promptops_core::ValidationError;

use super::tokens::Boundary::{self, Cell, Line, Paren};
use super::{Role, Scanner, Token, disk_gb, is_disk_word, is_gpu_noun, is_vm_noun};
use crate::mentions::Mentioned;

/// What a labelled count counts.
enum Kind {
    Vms,
    PerVm,
    Total,
}

/// Words that ask "how many" without saying of what ("Count", "Quantity", "How many", a
/// key-value table's "Value"): a count under them is of what its table row names.
fn is_generic_count_word(word: &str) -> bool {
    matches!(
        word,
        "count"
            | "quantity"
            | "qty"
            | "amount"
            | "number"
            | "num"
            | "total"
            | "units"
            | "many"
            | "value"
    )
}

/// What a key joined by "_" or "-" counts: "gpu_count" and "gpus_per_node" GPUs per VM
/// (as the variable `gpu_count` is), "vm_count", "num_vms" and "node-count" VMs, "num_gpus"
/// GPUs in all (as "GPUs: 8" is).
fn compound_key_kind(key: &str) -> Option<Kind> {
    let parts: Vec<&str> = key.split(['_', '-']).filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return None;
    }
    let counting = |part: &&str| is_generic_count_word(part) || matches!(*part, "n" | "of");
    let vm = parts.iter().any(|p| is_vm_noun(p));
    let gpu = parts.iter().any(|p| is_gpu_noun(p));
    match parts.as_slice() {
        ["gpu", "count"] => Some(Kind::PerVm),
        [.., "per", last] if gpu && is_vm_noun(last) => Some(Kind::PerVm),
        _ if parts.iter().all(|p| counting(p) || is_vm_noun(p)) && vm => Some(Kind::Vms),
        _ if parts.iter().all(|p| counting(p) || is_gpu_noun(p)) && gpu => Some(Kind::Total),
        _ => None,
    }
}

/// Words between a label and its count that say nothing of what is counted.
fn is_copula(word: &str) -> bool {
    matches!(
        word,
        "is" | "are"
            | "be"
            | "should"
            | "will"
            | "would"
            | "shall"
            | "must"
            | "set"
            | "to"
            | "equals"
    )
}

/// Where the label of a count stands, and whether it is a column's header.
struct Label {
    words: Range<usize>,
    header: bool,
}

impl Label {
    /// Whether the label stands in another cell or on another line than the count at `i`.
    fn apart(&self, i: usize) -> bool {
        self.header || self.words.end < i
    }
}

impl Scanner<'_> {
    /// A count with no noun after it: "2 per VM" (GPUs per VM), a form-like "VMs: 3",
    /// "number of VMs 3", "GPUs per VM: 2", "gpu_count = 2", "GPUs: 8" where the count ends
    /// its clause, or a count under a form's label or a table's header (see the module).
    pub(super) fn count_without_noun_after(&mut self, i: usize, count: u32) {
        if self.word(i + 1) == Some("per") && self.word(i + 2).is_some_and(is_vm_noun) {
            let written = self.written(i, i + 2);
            self.mentions.push_gpus_per_vm(count, written);
            self.roles[i] = Role::Used;
            return;
        }
        if let Some((kind, from)) = self.count_of_them(i) {
            self.drop_article_count(&kind, from);
            let written = format!("{} … {}", self.written(from, from), self.written(i, i + 2));
            self.push_labelled(i, kind, count, written);
            return;
        }
        // "VMs: 3 with 2 T4 each": what follows the count says what each of them has or
        // where they are ("T4 qty 4 in us-west1"), or starts another clause ("should be 3
        // and each needs 2 T4"), or another key after a key's value ("GPU=T4 VMS=2
        // REGION=us-west1").
        if self
            .word(i + 1)
            .is_some_and(|next| !matches!(next, "with" | "having" | "each" | "and" | "in"))
            && !self.written_after_colon(i)
        {
            return;
        }
        let label = self.label_of(i);
        let Some((kind, from, to)) = self
            .label_kind(&label.words)
            .or_else(|| self.count_of_row(i, &label))
        else {
            return;
        };
        // "T4 (one each)": so many of the GPU per VM.
        let kind = match kind {
            Kind::Total if matches!(self.word(i + 1), Some("each" | "apiece")) => Kind::PerVm,
            kind => kind,
        };
        let written = format!("{} {}", self.written(from, to), self.word(i).unwrap_or(""));
        self.push_labelled(i, kind, count, written);
    }

    /// Whether the label before the count at `i` says what it counts ("VMs: 3").
    pub(super) fn has_counting_label(&self, i: usize) -> bool {
        self.label_kind(&self.label_of(i).words).is_some()
    }

    /// Records the count at `i` as what its label says it counts.
    fn push_labelled(&mut self, i: usize, kind: Kind, count: u32, written: String) {
        match kind {
            Kind::PerVm => self.mentions.push_gpus_per_vm(count, written),
            Kind::Vms => self.mentions.push_vm_count(count, written),
            Kind::Total => self.mentions.push_gpu_total(count, written),
        }
        self.roles[i] = Role::Used;
    }

    /// "Need a T4 VM, 2 of them": the article named the kind, not one VM (the request was
    /// refused as stating two VM counts). Its count of 1 on the noun at `noun` is dropped.
    fn drop_article_count(&mut self, kind: &Kind, noun: usize) {
        let Some(article) = (noun.saturating_sub(5)..noun)
            .rev()
            .find(|&j| matches!(self.word(j), Some("a" | "an")))
        else {
            return;
        };
        let written = self.written(article, noun);
        let list = match kind {
            Kind::Vms => &mut self.mentions.vm_count,
            Kind::Total => &mut self.mentions.total_gpus,
            Kind::PerVm => return,
        };
        list.retain(|m| !(m.value == 1 && m.written == written));
    }

    /// "A100 GPUs, 4 of them": a count of the GPU or VM named last before it on its line
    /// (within 8 tokens: a comma and a full stop are one kind of break here, so the
    /// sentence's start is not known), and where that name stands.
    fn count_of_them(&self, i: usize) -> Option<(Kind, usize)> {
        if self.word(i + 1) != Some("of")
            || !matches!(self.word(i + 2), Some("them" | "those" | "these"))
        {
            return None;
        }
        let found = (i.saturating_sub(8)..i)
            .rev()
            .take_while(|&j| !matches!(self.tokens[j], Token::Break(Line)))
            .find_map(|j| {
                let word = self.word(j)?;
                if is_vm_noun(word) {
                    Some((Kind::Vms, j))
                } else if is_gpu_noun(word) || self.roles[j] == Role::Gpu {
                    Some((Kind::Total, j))
                } else {
                    None
                }
            })?;
        // "4 T4 VMs, 1 of them as the master": a part of VMs already counted, told apart by
        // what it is for, is no count of its own ("T4 VMs, 4 of them for training" is).
        let part = matches!(
            self.word(i + 3),
            Some("as" | "for" | "is" | "will" | "should" | "acting" | "being" | "running")
        );
        // The word, not its role: the count before is read (used) by now.
        let counted_before = (found.1.saturating_sub(4)..found.1)
            .any(|j| self.word(j).and_then(super::tokens::parse_count).is_some());
        (!(part && counted_before)).then_some(found)
    }

    /// The label a count at `i` stands under: its column's header in a table that has one
    /// ("| GPU | VMs |⏎|---|---|⏎| A100 | 3 |" is 3 VMs, not 3 A100s; under "Budget" it is
    /// no count), else the cell beside it or a form's line above, else the words before it
    /// in its clause.
    fn label_of(&self, i: usize) -> Label {
        if let Some(cell) = self.column_header(i) {
            // Up to its last word: "| How many? |" ends in a "?".
            let end = self.last_word(&cell).map_or(cell.start, |j| j + 1);
            return Label {
                words: cell.start..end,
                header: true,
            };
        }
        // "A100 (4)", "T4 GPUs (5)", "VMs (3)": a count in parentheses right after a GPU's
        // name or a GPU or VM noun counts it. (After a comma it may be anything: "T4,
        // budget 100".)
        let counted_before = |j: usize| {
            self.roles[j] == Role::Gpu
                || self
                    .word(j)
                    .is_some_and(|w| is_gpu_noun(w) || is_vm_noun(w))
        };
        if i >= 2 && self.tokens[i - 1] == Token::Break(Paren) && counted_before(i - 2) {
            return Label {
                words: self.clause_start(i - 1)..i - 1,
                header: false,
            };
        }
        // A form's label is its whole line ("Boot disk size (GB)"), a cell's its cell; one
        // on the count's own line is the clause before it.
        let (start, end) = match self.form_label_end(i) {
            Some(end) => (self.start_before(end, |b| matches!(b, Line | Cell)), end),
            None => (self.clause_start(i), i),
        };
        Label {
            words: start..end,
            header: false,
        }
    }

    /// The first token after the last break before `end` that `ends` accepts: where the
    /// clause, the cell or the line that holds the tokens before `end` starts.
    fn start_before(&self, end: usize, ends: impl Fn(Boundary) -> bool) -> usize {
        (0..end)
            .rev()
            .find(|&j| matches!(self.tokens[j], Token::Break(boundary) if ends(boundary)))
            .map_or(0, |j| j + 1)
    }

    /// The index of the last word of `label`, if it has one.
    fn last_word(&self, label: &Range<usize>) -> Option<usize> {
        label.clone().rev().find(|&j| self.word(j).is_some())
    }

    /// What the last words of `label` say a count under it counts, and the first and last
    /// of the words that say it.
    fn label_kind(&self, label: &Range<usize>) -> Option<(Kind, usize, usize)> {
        // "The number of VMs should be 3", "GPU count is set to 2": the label ends before
        // the words that tie it to its count.
        let mut end = label.end;
        while end > label.start && self.word(end - 1).is_some_and(is_copula) {
            end -= 1;
        }
        let before = |back: usize| {
            (end >= label.start + back)
                .then(|| self.word(end - back))
                .flatten()
        };
        let (kind, back) = match (before(3), before(2), before(1)) {
            (Some(g), Some("per"), Some(v)) if is_gpu_noun(g) && is_vm_noun(v) => (Kind::PerVm, 3),
            (_, _, Some(key)) if let Some(kind) = compound_key_kind(key) => (kind, 1),
            // "GPU count", as the variable `gpu_count` is: per VM.
            (_, Some("gpu"), Some("count")) => (Kind::PerVm, 2),
            (_, Some(v), Some("count" | "number")) if is_vm_noun(v) => (Kind::Vms, 2),
            (_, _, Some(v)) if is_vm_noun(v) => (Kind::Vms, 1),
            // "T4 GPUs: qty 4", "T4 qty 4": a count that names nothing, after the GPUs it
            // counts, as "| T4 | 4 |" under "| GPU | Qty |" is read.
            // ("gpu=a100 count=4" is two keys: the count's own key names nothing.)
            (_, Some(g), Some(c))
                if is_generic_count_word(c)
                    && (g == "gpus" || self.roles[end - 2] == Role::Gpu)
                    && !self.written_after_colon(label.end) =>
            {
                let mut from = end - 2;
                while from > label.start && self.roles[from - 1] == Role::Gpu {
                    from -= 1;
                }
                return Some((Kind::Total, from, end - 1));
            }
            // "NVIDIA L4, qty 2": the GPUs before the comma, as "L4 qty 2".
            (_, None, Some(c))
                if is_generic_count_word(c)
                    && label.start >= 2
                    && matches!(
                        self.tokens[label.start - 1],
                        Token::Break(Boundary::Mark | Boundary::Close)
                    )
                    && self.roles[label.start - 2] == Role::Gpu
                    && !self.written_after_colon(label.end) =>
            {
                let mut from = label.start - 2;
                while from > 0 && self.roles[from - 1] == Role::Gpu {
                    from -= 1;
                }
                return Some((Kind::Total, from, end - 1));
            }
            (_, _, Some(g)) if is_gpu_noun(g) => (Kind::Total, 1),
            // A GPU's name beside a count in a table's row or on the line above it ("| A100
            // | 4 |"), or right before a count that ends its clause ("A100: 4"): that many
            // of it, as "4 A100" would be. ("A100 80" is a name of its own, read before.)
            _ if end > label.start && self.roles[end - 1] == Role::Gpu => {
                let mut from = end - 1;
                while from > label.start && self.roles[from - 1] == Role::Gpu {
                    from -= 1;
                }
                return Some((Kind::Total, from, end - 1));
            }
            _ => return None,
        };
        Some((kind, end - back, end - 1))
    }

    /// Under a header that asks "how many" of nothing named ("Count", "Quantity"), what the
    /// count's row names: a label another cell holds ("| GPUs per VM | 2 |"), or a GPU or a
    /// VM ("| A100 | 4 |" under "| GPU | Count |" is 4 A100s).
    fn count_of_row(&self, i: usize, label: &Label) -> Option<(Kind, usize, usize)> {
        let last = self.word(self.last_word(&label.words)?)?;
        if !label.header || !is_generic_count_word(last) {
            return None;
        }
        let row = self.row_of(i);
        let cells = self.cells(&row);
        let others = cells.iter().filter(|cell| !cell.contains(&i));
        others
            .clone()
            .find_map(|cell| self.label_kind(cell))
            .or_else(|| {
                others.into_iter().find_map(|cell| {
                    let mut words = cell.clone().filter(|&j| self.word(j).is_some());
                    let (first, last) = (words.next()?, words.last());
                    let kind = if cell.clone().any(|j| self.word(j).is_some_and(is_vm_noun)) {
                        Kind::Vms
                    } else if cell.clone().any(|j| self.roles[j] == Role::Gpu) {
                        Kind::Total
                    } else {
                        return None;
                    };
                    Some((kind, first, last.unwrap_or(first)))
                })
            })
    }

    /// Where the label of a count alone on its line or in its table cell ends, when the line
    /// above or the cell before holds it (an issue form's "### Number of VMs⏎⏎3", a table's
    /// "| VMs | 3 |"): the index right after the label's last word. `None` when the count
    /// shares its line or cell with other words, ends in "." or ")" (a list's marker, "1.
    /// A100"), or stands first in a table's row.
    pub(super) fn form_label_end(&self, i: usize) -> Option<usize> {
        let alone_after = self.tokens.get(i + 1).is_none() || self.ends_line_or_cell(i);
        let row = self.row_of(i);
        let in_table = self.is_table_row(&row);
        let mut j = i;
        let mut separated = false;
        while j > 0 {
            match &self.tokens[j - 1] {
                Token::Break(Line) if in_table => return None,
                Token::Break(boundary) => separated |= matches!(boundary, Line | Cell),
                Token::Word(_) => break,
            }
            j -= 1;
        }
        (alone_after && separated && j > 0 && j < i).then_some(j)
    }

    /// Whether a line break or a table's column separator follows the word at `i`: no
    /// punctuation ends it, as a list's "1." or "1)" would.
    pub(super) fn ends_line_or_cell(&self, i: usize) -> bool {
        matches!(self.tokens.get(i + 1), Some(Token::Break(Line | Cell)))
    }

    /// The first token of the clause that ends at `end` (exclusive).
    fn clause_start(&self, end: usize) -> usize {
        self.start_before(end, |_| true)
    }

    /// The tokens of the line that holds the token at `i`, without its line breaks.
    fn row_of(&self, i: usize) -> Range<usize> {
        self.lines.row_of(i)
    }

    /// The line that ends at the line break right before `start` (empty for a blank line).
    fn row_above(&self, start: usize) -> Option<Range<usize>> {
        Some(self.lines.row_of(start.checked_sub(1)?))
    }

    fn is_table_row(&self, row: &Range<usize>) -> bool {
        self.lines.is_table_row(row)
    }

    /// A table's cells in `row`, each as the tokens between two column separators (the
    /// outer "|" of "| a | b |" starts and ends no cell).
    fn cells(&self, row: &Range<usize>) -> Vec<Range<usize>> {
        let mut cells = Vec::new();
        let mut start = row.start;
        for j in row.clone() {
            if self.tokens[j] == Token::Break(Cell) {
                cells.push(start..j);
                start = j + 1;
            }
        }
        cells.push(start..row.end);
        if row.start < row.end && self.tokens[row.start] == Token::Break(Cell) {
            cells.remove(0);
        }
        if row.start < row.end && self.tokens[row.end - 1] == Token::Break(Cell) {
            cells.pop();
        }
        cells
    }

    /// The header cell above the body cell holding `i` in a Markdown table: the rows above
    /// it up to the delimiter row ("|---|---|", a row of separators without words) and the
    /// header row right above that.
    fn column_header(&self, i: usize) -> Option<Range<usize>> {
        let row = self.row_of(i);
        if !self.is_table_row(&row) {
            return None;
        }
        let column = self.cells(&row).iter().position(|cell| cell.contains(&i))?;
        let mut above = self.row_above(row.start)?;
        loop {
            if !self.is_table_row(&above) {
                return None;
            }
            let words = above.clone().any(|j| self.word(j).is_some());
            if !words {
                let header = self.row_above(above.start)?;
                if !self.is_table_row(&header) {
                    return None;
                }
                let cell = self.cells(&header).get(column)?.clone();
                return cell.clone().any(|j| self.word(j).is_some()).then_some(cell);
            }
            above = self.row_above(above.start)?;
        }
    }

    /// The GPU a refusal's example names: the request's, when it names one.
    pub(super) fn example_gpu(&self) -> String {
        self.mentions.gpu_type.first().map_or_else(
            || "A100".to_owned(),
            |gpu| {
                // "L4s" is written of several: the example names one.
                let one = gpu
                    .written
                    .strip_suffix('s')
                    .filter(|singular| self.catalog.gpu_by_alias(singular).is_some())
                    .unwrap_or(&gpu.written);
                one.to_uppercase()
            },
        )
    }

    /// The example GPU after its article: "a T4", "an A100", "an L4" (as the letter is
    /// spoken).
    pub(super) fn one_example_gpu(&self) -> String {
        let gpu = self.example_gpu();
        let article =
            if gpu.starts_with(['A', 'E', 'F', 'H', 'I', 'L', 'M', 'N', 'O', 'R', 'S', 'X']) {
                "an"
            } else {
                "a"
            };
        format!("{article} {gpu}")
    }

    /// Refuses a whole number alone in its table cell or on its form's line, under a label
    /// that asks how many of nothing named ("### Quantity⏎⏎3", "| Count |" in a row naming
    /// no GPU or VM), or right after one at the end of its clause ("count=4"), when no count
    /// was read at all: the deployment would be planned at the
    /// default count with the stated one dropped. Where other counts were read it is noted
    /// in the plan's assumptions instead, so that a reviewer sees what was not read.
    pub(super) fn refuse_unread_labelled_counts(&mut self) {
        let mentions = &self.mentions;
        let nothing_read = !mentions.states_a_count();
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            // A key's value may be followed by the next key ("count=2 region=us-west1").
            let ends_clause = self.word(i + 1).is_none() || self.written_after_colon(i);
            if !word.bytes().all(|b| b.is_ascii_digit()) || !ends_clause {
                continue;
            }
            let label = self.label_of(i);
            let last = self.last_word(&label.words);
            if !last
                .and_then(|j| self.word(j))
                .is_some_and(is_generic_count_word)
            {
                continue;
            }
            let number = self.quoted(i, i);
            // A label on the count's own line is its last word ("count=4"), not the clause.
            let (place, from) = match (label.apart(i), last) {
                (true, _) => ("under", label.words.start),
                (false, Some(last)) => ("after", last),
                (false, None) => continue,
            };
            let label = self.quoted(from, label.words.end - 1);
            let what = format!("\"{number}\" {place} \"{label}\" does not say what it counts");
            if nothing_read {
                let gpu = self.example_gpu();
                let message = format!(
                    "{what}, so it is not read as a count; write \"{number} VMs\", \"{number} GPUs per VM\" or \"{number} {gpu} GPUs\", or label it \"Number of VMs\" or \"GPUs per VM\""
                );
                self.errors
                    .push(ValidationError::new("count", &number, message));
            } else {
                self.mentions
                    .notices
                    .push(format!("{what}; it was not read"));
            }
            self.roles[i] = Role::Used;
        }
    }

    /// A disk size without its unit after or under a disk's label ("Disk: 500", "T4 with
    /// disk 300", "### Boot disk size (GB)⏎⏎200"): read in the label's unit, in GB when it
    /// names none (the unit of `boot_disk_size_gb`), and that reading stated. The size was
    /// dropped for the default, or refused as a count cut off from the next line's GPU.
    pub(super) fn find_labelled_disks(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let Some(number) = word.parse::<u32>().ok().filter(|_| word.len() <= 9) else {
                continue;
            };
            if self.word(i + 1).is_some() {
                continue;
            }
            let label = self.label_of(i);
            let words: Vec<(usize, &str)> = label
                .words
                .clone()
                .filter_map(|j| self.word(j).map(|w| (j, w)))
                .collect();
            // The label's last few words: "boot disk size (GB)".
            let last = &words[words.len().saturating_sub(4)..];
            // "Disks: 2" counts disks.
            let Some(&(from, _)) = last.iter().find(|(_, w)| is_disk_word(w) && *w != "disks")
            else {
                continue;
            };
            let unit = last
                .iter()
                .rev()
                .find_map(|&(_, w)| disk_gb(1, w).map(|_| w));
            let Some(gb) = disk_gb(number, unit.unwrap_or("gb")) else {
                continue;
            };
            let written = format!("{} {word}", self.written(from, label.words.end - 1));
            let mut mentioned = Mentioned::new(gb, written.clone());
            if unit.is_none() {
                mentioned =
                    mentioned.with_reading(format!("\"{written}\" names no unit: read as {gb} GB"));
            }
            self.mentions.push_disk_read(mentioned);
            self.roles[i] = Role::Used;
        }
    }
}
