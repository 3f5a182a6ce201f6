//! A relative word with nothing counted after it: "I need a T4 VM. Also another one like
//! it.", "a T4 VM, and one more for testing". ("and another" right after a VM item is one
//! more of it, read as a list by `listed.rs`.) The word counts what was named before it (VMs, or
//! GPUs when no VM was named), so it is read as "another VM" would be: against a deployment it
//! adds to, and in a first request it is refused with what to write instead. Before, such
//! a request planned one VM and said nothing of the other. With nothing named at all ("we
//! need another" in a comment) it is refused: it could add a VM or a GPU.

use promptops_core::ValidationError;

use super::words::{is_gpu_noun, is_vm_noun};
use super::{Role, Scanner};
use crate::mentions::relative::CountField;

/// Words that may follow a bare "another" (or "one more") without naming something else:
/// "another in asia-east1", "another like it", "another one for testing", "one more please".
/// Any other word is taken to be what is counted ("another question", "one more thing").
fn leaves_the_noun_out(word: &str) -> bool {
    matches!(
        word,
        "one"
            | "in"
            | "at"
            | "like"
            | "for"
            | "with"
            | "on"
            | "please"
            | "pls"
            | "too"
            | "as"
            | "of"
            | "identical"
            | "just"
            | "exactly"
            | "and"
            | "but"
            | "so"
            | "to"
    )
}

impl Scanner<'_> {
    /// Whether the relative count ending before `next` stands without a noun of its own.
    pub(super) fn counts_nothing_named(&self, next: usize) -> bool {
        match self.tokens.get(next) {
            None => true,
            Some(token) => token.word().is_none_or(leaves_the_noun_out),
        }
    }

    /// Where a VM and a GPU are first named, found once for every relative word.
    pub(super) fn first_named(&self) -> FirstNamed {
        let first = |test: &dyn Fn(usize, &str) -> bool| {
            (0..self.tokens.len()).find(|&j| self.word(j).is_some_and(|word| test(j, word)))
        };
        FirstNamed {
            vm: first(&|_, word| is_vm_noun(word)),
            gpu: first(&|j, word| is_gpu_noun(word) || self.roles[j] == Role::Gpu),
        }
    }

    /// Refuses a change written from `from` to `to` that names nothing it counts.
    pub(super) fn refuse_uncounted_change(&mut self, from: usize, to: usize, by: i64) {
        let written = self.quoted(from, to);
        let (amount, direction) = (by.unsigned_abs(), if by < 0 { "fewer" } else { "more" });
        let (vms, gpus) = if amount == 1 {
            ("VM", "GPU")
        } else {
            ("VMs", "GPUs")
        };
        self.errors.push(ValidationError::new(
            "count",
            &written,
            format!(
                "\"{written}\" does not say what it counts; write \"{amount} {direction} {vms}\" or \"{amount} {direction} {gpus} per VM\""
            ),
        ));
    }
}

/// Where a VM and a GPU are first named in the request.
#[derive(Debug, Clone, Copy)]
pub(super) struct FirstNamed {
    vm: Option<usize>,
    gpu: Option<usize>,
}

impl FirstNamed {
    /// What was named before `index`: VMs when a VM noun was ("an A100 VM with 4 GPUs, one
    /// more in the same zone" asks for another VM), otherwise GPUs when a GPU noun or name
    /// was ("a T4 GPU and another").
    pub(super) fn counted_before(&self, index: usize) -> Option<CountField> {
        if self.vm.is_some_and(|vm| vm < index) {
            Some(CountField::Vms)
        } else if self.gpu.is_some_and(|gpu| gpu < index) {
            Some(CountField::Gpus)
        } else {
            None
        }
    }
}
