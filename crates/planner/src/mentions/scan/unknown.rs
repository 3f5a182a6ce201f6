//! GPU-like names the catalog does not know ("RTX 5090", "K80 GPUs", "a Gaudi2
//! accelerator"): reported as errors listing what the catalog offers, never read as counts.

use super::{Role, Scanner, is_gpu_noun, names, parse_count, split_number_suffix};

impl Scanner<'_> {
    /// GPU-like names that are not in the catalog: "RTX 4090", "K80 GPUs", "4 A10s".
    /// The scanner order puts this after GPU names and before counts.
    pub(super) fn find_unknown_gpus(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            if matches!(word, "rtx" | "gtx" | "geforce" | "quadro" | "radeon")
                && let Some(model) = self.free_word(i + 1)
                && model.bytes().next().is_some_and(|b| b.is_ascii_digit())
            {
                let written = self.written(i, i + 1);
                self.errors.push(names::unknown_gpu(&written, self.catalog));
                self.roles[i + 1] = Role::Used;
                continue;
            }
            // "a Gaudi2 accelerator": a model name right before a GPU noun.
            let model_before_noun = self.word(i + 1).is_some_and(is_gpu_noun)
                && word.bytes().any(|b| b.is_ascii_digit())
                && word.bytes().any(|b| b.is_ascii_alphabetic())
                && parse_count(word).is_none()
                && split_number_suffix(word).is_none();
            if model_before_noun {
                let written = word.to_owned();
                self.errors.push(names::unknown_gpu(&written, self.catalog));
                self.roles[i] = Role::Used;
                continue;
            }
            if !names::looks_like_gpu(word) {
                continue;
            }
            let near = |j: usize| self.word(j).is_some_and(names::is_gpu_context_word);
            // "an H200 node": a VM noun right after it (the request was read as naming
            // nothing at all).
            let in_gpu_context = near(i + 1)
                || self.word(i + 1).is_some_and(super::is_vm_noun)
                || near(i + 2)
                || (i >= 1 && near(i - 1))
                || (i >= 2 && near(i - 2))
                || (i >= 1 && self.word(i - 1).and_then(parse_count).is_some());
            if in_gpu_context {
                let written = word.to_owned();
                self.errors.push(names::unknown_gpu(&written, self.catalog));
                self.roles[i] = Role::Used;
            }
        }
    }
}
