//! VMs listed one by one, each for its own purpose: "a T4 VM for me and one for Bob", "one
//! T4 VM for training and one T4 VM for inference", "a T4 VM for alice, a T4 VM for bob and
//! a T4 VM for carol". Each item was read as the same count and merged with the others, so
//! the list was planned as 1 VM; the items' counts are now summed and the sum is stated.
//!
//! A count followed by its breakdown ("2 T4 VMs: 1 for training and 1 for inference", "2
//! T4 VMs, one for training and one for inference") tells the same VMs apart: the breakdown
//! is not read as counts of its own when it adds up to the count (the "1" under "VMs:" was
//! read as a second VM count), and is when it does not, so that the two are refused as
//! naming different numbers.

use super::tokens::Boundary;
use super::{CountKind, Head, Mentioned, Role, Scanner, Token};

/// One item of a list: its count, its first and last token, and whether it has a noun of
/// its own ("a T4 VM for me") or borrows the one before it ("one for Bob").
#[derive(Clone, Copy)]
struct Item {
    count: u32,
    start: usize,
    end: usize,
    elliptic: bool,
}

/// Most words a purpose may take ("for the new inference service").
const PURPOSE_WORDS: usize = 6;

impl Scanner<'_> {
    /// Finds lists of VMs and breakdowns of a VM count (see the module).
    pub(super) fn find_listed_vms(&mut self) {
        let mut i = 0;
        while i < self.tokens.len() {
            let found = match self.vm_item(i) {
                Some((first, purpose)) => Some((first, purpose, CountKind::Vms)),
                None => self
                    .gpu_item(i)
                    .or_else(|| self.named_gpu_item(i).map(|item| (item, true)))
                    .map(|(first, purpose)| (first, purpose, CountKind::Total)),
            };
            let Some((first, purpose, kind)) = found else {
                i += 1;
                continue;
            };
            let rest = self.items_after(first.end);
            let next = rest.last().map_or(first.end + 1, |last| last.end + 1);
            match (purpose, rest.as_slice()) {
                (true, [_, ..]) => self.push_list(kind, first, &rest),
                (false, [_, _, ..]) if rest.iter().all(|item| item.elliptic) => {
                    self.read_breakdown(kind, first, &rest);
                }
                _ => {}
            }
            i = next;
        }
    }

    /// GPUs counted for a purpose or broken down by one: "GPUs: 2 for training (A100) and
    /// 2 for serving (A100)" (a count under a GPU label, with its purpose), "4 A100 GPUs: 2
    /// for training and 2 for serving" (a GPU count, whose breakdown follows). Before, the
    /// items were one count of 2, and the breakdown a second count.
    fn gpu_item(&self, i: usize) -> Option<(Item, bool)> {
        let count = self.count_word(i)?;
        let item = |end| Item {
            count,
            start: i,
            end,
            elliptic: false,
        };
        let labelled = i >= 1
            && self.word(i - 1).is_some_and(super::is_gpu_noun)
            && self.written_after_colon(i);
        if labelled {
            return self.purpose_end(i).map(|end| (item(end), true));
        }
        match self.find_head(i + 1)? {
            Head::Gpu(end) if self.written_after_colon(end + 1) => Some((item(end), false)),
            _ => None,
        }
    }

    /// A GPU named for a purpose, with or without a count before it: "T4 for me", "an
    /// A100 for Alice", "one T4 for training". Listed so ("T4 for me and T4 for Bob"), the
    /// items were one GPU.
    fn named_gpu_item(&self, i: usize) -> Option<Item> {
        let (count, gpu) = match self.count_word(i) {
            Some(count) => (count, i + 1),
            None => (1, i),
        };
        let span = self.gpu_spans.iter().find(|span| span.start == gpu)?;
        if gpu == i && i > 0 && self.count_word(i - 1).is_some() {
            return None;
        }
        let end = self.purpose_end(span.end)?;
        Some(Item {
            count,
            start: i,
            end,
            elliptic: false,
        })
    }

    /// `end`, or the closing bracket of a GPU named in brackets right after it ("2 for
    /// training (A100)").
    fn past_bracketed_gpu(&self, end: usize) -> usize {
        self.bracketed_gpu_after(end).unwrap_or(end)
    }

    /// A VM count with its noun at `i` ("a T4 VM", "one VM with 2 T4s"), its words up to
    /// its purpose if it has one ("for training"), and whether it does.
    fn vm_item(&self, i: usize) -> Option<(Item, bool)> {
        let count = self.count_word(i)?;
        let Head::Vm(noun) = self.find_head(i + 1)? else {
            return None;
        };
        // "one VM with 2 T4s for training": the GPUs each has belong to the item.
        let mut end = noun;
        if self.word(end + 1) == Some("with")
            && self.count_word(end + 2).is_some()
            && let Some(Head::Gpu(gpu)) = self.find_head(end + 3)
        {
            end = gpu;
        }
        let item = |end| Item {
            count,
            start: i,
            end,
            elliptic: false,
        };
        Some(match self.purpose_end(end) {
            Some(purpose) => (item(purpose), true),
            None => (item(end), false),
        })
    }

    /// The last word of a purpose right after `end` ("for Bob", "for the CI runners"): not
    /// a share ("for each user"), nor a time ("for 3 days").
    fn purpose_end(&self, end: usize) -> Option<usize> {
        if self.word(end + 1) != Some("for") {
            return None;
        }
        let first = self.word(end + 2)?;
        if matches!(first, "each" | "every" | "all" | "per") || self.count_word(end + 2).is_some() {
            return None;
        }
        let mut last = end + 2;
        while last < end + 1 + PURPOSE_WORDS
            && self
                .word(last + 1)
                .is_some_and(|w| !matches!(w, "and" | "plus"))
        {
            last += 1;
        }
        Some(last)
    }

    /// The items that follow an item ending at `end`, each after a comma, a colon or an
    /// "and" ("and one for Bob", ", a T4 VM for carol").
    fn items_after(&self, mut end: usize) -> Vec<Item> {
        let mut items = Vec::new();
        loop {
            // "2 for training (A100) and 2 for serving": past the GPU each item names.
            let mut j = self.past_bracketed_gpu(end) + 1;
            let mut joined = false;
            while let Some(token) = self.tokens.get(j) {
                match token {
                    Token::Break(Boundary::Mark | Boundary::Close) => joined = true,
                    Token::Word(w) if matches!(w.as_str(), "and" | "plus") => joined = true,
                    _ => break,
                }
                j += 1;
            }
            // "2 T4 VMs: 1 for training …": a colon is no token, but the text has it.
            if !(joined || self.written_after_colon(j)) {
                return items;
            }
            let item = match self.vm_item(j) {
                Some((item, true)) => item,
                Some((_, false)) => return items,
                None => match self.elliptic_item(j).or_else(|| self.named_gpu_item(j)) {
                    Some(item) => item,
                    None => return items,
                },
            };
            items.push(item);
            end = item.end;
        }
    }

    /// "a node with 8 A100s and another with 8 A100s", "a T4 VM for me and another for
    /// Bob", "one T4 VM, and another one for testing": a bare "another" (at `i`, its words
    /// going on at `next`) right after a VM item of the same text is one more of it, and the
    /// two are a list. Before, it was read as a change of a deployment and refused in a
    /// first request.
    pub(super) fn read_another_item(&mut self, i: usize, next: usize) -> bool {
        let mut joint = i;
        while joint > 0
            && (self.word(joint - 1) == Some("and")
                || self.tokens[joint - 1] == Token::Break(Boundary::Mark))
        {
            joint -= 1;
        }
        if joint == i || self.word(i - 1) != Some("and") {
            return false;
        }
        // The item may be placed before the joint ("an L4 VM in asia-east1 and another").
        let placed = |from: usize| {
            (from..joint).all(|j| {
                matches!(self.word(j), Some("in" | "at" | "on" | "the"))
                    || matches!(self.roles[j], Role::Name(_) | Role::Used)
            })
        };
        let first = (joint.saturating_sub(PURPOSE_WORDS + 8)..joint)
            .filter_map(|j| self.vm_item(j).map(|(item, _)| item))
            .find(|item| item.end < joint && placed(item.end + 1));
        let Some(first) = first else {
            return false;
        };
        let mut end = if self.word(next) == Some("one") {
            next
        } else {
            next - 1
        };
        if let Some(purpose) = self.purpose_end(end) {
            end = purpose;
        } else if self.word(end + 1) == Some("with")
            && let Some(per_vm) = self.count_word(end + 2)
            && let Some(Head::Gpu(gpu)) = self.find_head(end + 3)
        {
            // Its GPUs are each VM's, as the first item's are: the same count is one, and
            // another is refused as a second ("and another with 4 A100s" after 8).
            let written = self.written(end + 2, gpu);
            self.mentions.push_gpus_per_vm(per_vm, written);
            self.roles[end + 2] = Role::Used;
            end = gpu;
        }
        let another = Item {
            count: 1,
            start: i,
            end,
            elliptic: true,
        };
        self.push_list(CountKind::Vms, first, &[another]);
        for role in &mut self.roles[i..next] {
            *role = Role::Used;
        }
        true
    }

    /// "one for Bob", "1 for inference": a count with a purpose and no noun.
    fn elliptic_item(&self, j: usize) -> Option<Item> {
        let word = self.free_word(j)?;
        if matches!(word, "a" | "an") {
            return None;
        }
        let count = self.count_word(j)?;
        let end = self.purpose_end(j)?;
        Some(Item {
            count,
            start: j,
            end,
            elliptic: true,
        })
    }

    /// Records the sum of a list's items as the count of `kind` (VMs, or GPUs in total), and
    /// marks their counts read.
    fn push_list(&mut self, kind: CountKind, first: Item, rest: &[Item]) {
        let last = rest.last().copied().unwrap_or(first);
        let total: u32 = std::iter::once(first)
            .chain(rest.iter().copied())
            .fold(0, |sum, item| sum.saturating_add(item.count));
        let written = self.quoted(first.start, last.end);
        let parts: Vec<String> = std::iter::once(first)
            .chain(rest.iter().copied())
            .map(|item| item.count.to_string())
            .collect();
        let parts = parts.join(" + ");
        let reading = if kind == CountKind::Vms {
            format!(
                "\"{written}\" read as {total} VMs in all ({parts}); all VMs of a deployment have the same GPUs"
            )
        } else {
            format!("\"{written}\" read as {total} GPUs in all ({parts})")
        };
        self.mentions
            .push_count(kind, Mentioned::new(total, written).with_reading(reading));
        // A GPU named without a count ("T4 for me") keeps its name's role.
        for item in std::iter::once(first).chain(rest.iter().copied()) {
            if self.roles[item.start] == Role::Free {
                self.roles[item.start] = Role::Used;
            }
        }
    }

    /// A breakdown of the count `counted` (of `kind`): read as nothing when it adds up to the
    /// count, else as a second count (so that the two are refused as different).
    fn read_breakdown(&mut self, kind: CountKind, counted: Item, parts: &[Item]) {
        let total: u32 = parts
            .iter()
            .fold(0, |sum, item| sum.saturating_add(item.count));
        if total != counted.count {
            let (first, last) = (parts[0], parts[parts.len() - 1]);
            let written = self.quoted(first.start, last.end);
            self.mentions
                .push_count(kind, Mentioned::new(total, written));
        }
        for part in parts {
            self.roles[part.start] = Role::Used;
        }
    }
}
