//! What an earlier run used, or what is in use now, told as context: "the last run OOM'd on
//! a single T4", "I tried 1 T4 and it was too slow, so need 2 A100 VMs", "previously we had
//! 4 V100s", "our current setup is 2 V100 VMs". Before, its GPUs and counts were read as if
//! asked for: refused as naming two GPU types, or as "1 GPU in total cannot be spread over 2
//! VMs".
//!
//! A clause tells of such use when it has a past or present-state word ("tried", "ran",
//! "was", "previously", "last time", "currently", "not enough") and asks for nothing ("need",
//! "please", "could we"). It is set aside only when the rest of the request asks for VMs or
//! GPUs of its own:
//! - the rest names a GPU (or what one needs): the clause is not read, and the plan says so;
//! - the rest names none but the clause does: refused, naming the GPU as the one used, since
//!   planning the default could plan the very GPU that fell short;
//! - the clause counts VMs or GPUs and the rest counts none ("our current setup is 2 V100
//!   VMs. Please upgrade to A100"): refused, since the count may or may not carry over.
//!
//! A request that is nothing but such a clause is read as before.

use promptops_core::ValidationError;

use super::tokens::Boundary;
use super::{Role, Scanner, Token, is_gpu_noun, is_vm_noun, split_number_suffix};

/// How many such clauses the plan names one by one.
const MOST_NOTED: usize = 3;

/// Words that tell of use before now, or of the state things are in.
fn is_past_word(word: &str) -> bool {
    matches!(
        word,
        "tried"
            | "ran"
            | "crashed"
            | "failed"
            | "oom"
            | "oomed"
            | "had"
            | "was"
            | "were"
            | "wasn"
            | "weren"
            | "didn"
            | "did"
            | "couldn"
            | "previously"
            | "previous"
            | "earlier"
            | "formerly"
            | "yesterday"
            | "ago"
            | "currently"
            | "current"
            | "existing"
            | "worked"
    )
}

/// What "last" makes a time gone by ("last run", "last week").
fn is_time_noun(word: &str) -> bool {
    matches!(
        word,
        "time"
            | "run"
            | "runs"
            | "week"
            | "month"
            | "quarter"
            | "year"
            | "night"
            | "sprint"
            | "job"
            | "attempt"
            | "experiment"
            | "round"
            | "iteration"
            | "project"
            | "setup"
    )
}

/// Words that ask for something: a clause with one is the request, whatever else it says.
fn is_asking_word(word: &str) -> bool {
    matches!(
        word,
        "need"
            | "needs"
            | "want"
            | "wants"
            | "please"
            | "pls"
            | "request"
            | "requesting"
            | "give"
            | "get"
            | "provision"
            | "create"
            | "spin"
            | "launch"
            | "deploy"
            | "require"
            | "requires"
            | "could"
            | "can"
            | "would"
            | "should"
            | "will"
            | "let"
            | "lets"
            | "looking"
            | "try"
    )
}

/// Words that end a clause within a sentence: "it was too slow, so need 2 A100 VMs".
fn is_clause_joint(word: &str) -> bool {
    matches!(
        word,
        "so" | "but" | "now" | "hence" | "therefore" | "thus" | "since" | "because"
    )
}

/// Tokens `start..=end`.
#[derive(Clone, Copy)]
struct Clause {
    start: usize,
    end: usize,
}

impl Clause {
    fn holds(&self, i: usize) -> bool {
        (self.start..=self.end).contains(&i)
    }
}

impl Scanner<'_> {
    /// Sets aside the clauses that tell of earlier use when the rest asks for VMs or GPUs
    /// of its own, or refuses the request when the rest leaves out what they name.
    pub(super) fn set_aside_past_use(&mut self) {
        let past: Vec<Clause> = self
            .clauses()
            .into_iter()
            .filter(|c| self.names_vms_or_gpus(c))
            .collect();
        if past.is_empty() {
            return;
        }
        // One mark per token: a long request may hold thousands of such clauses.
        let mut marked = vec![false; self.tokens.len()];
        for clause in &past {
            marked[clause.start..=clause.end].fill(true);
        }
        let inside = |i: usize| marked[i];
        let rest: Vec<usize> = (0..self.tokens.len()).filter(|&i| !inside(i)).collect();
        let rest_names_gpu = self.gpu_spans.iter().any(|s| !inside(s.start))
            || rest.iter().any(|&i| self.states_gpu_need(i))
            || !self.mentions.model_memory.is_empty()
            || !self.mentions.biggest.is_empty();
        let rest_asks = rest_names_gpu
            || rest.iter().any(|&i| {
                self.word(i)
                    .is_some_and(|w| is_vm_noun(w) || is_gpu_noun(w))
            });
        if !rest_asks {
            return;
        }
        let past_gpu = self.gpu_spans.iter().find(|s| inside(s.start));
        if let Some(gpu) = past_gpu
            && !rest_names_gpu
        {
            let written = self.quoted(gpu.start, gpu.end);
            let clause = past.iter().find(|c| c.holds(gpu.start)).copied();
            let told = clause.map_or(String::new(), |c| format!(" (\"{}\")", self.told(&c)));
            let message = format!(
                "\"{written}\" is named as what was or is in use{told}, not as the GPU to plan, and no other is named; name the GPU to plan (e.g. \"2 L4 VMs\") or what it needs (\"a GPU with at least 24GB\")"
            );
            self.mentions
                .unclear
                .push(ValidationError::new("gpu_type", &written, message));
            self.set_aside(&past);
            return;
        }
        let past_counts = past
            .iter()
            .any(|c| (c.start..=c.end).any(|i| self.counts_at(i)));
        if past_counts && !rest.iter().any(|&i| self.counts_at(i)) {
            let told = self.told(&past[0]);
            let message = format!(
                "\"{told}\" tells what was or is in use, not what to plan, and the rest of the request counts no VMs or GPUs of its own; write how many to plan (e.g. \"2 A100 VMs\")"
            );
            self.mentions
                .unclear
                .push(ValidationError::new("vm_count", &told, message));
            self.set_aside(&past);
            return;
        }
        for clause in past.iter().take(MOST_NOTED) {
            let told = self.told(clause);
            self.mentions.notices.push(format!(
                "\"{told}\" is read as what was or is in use, not as the request"
            ));
        }
        if past.len() > MOST_NOTED {
            self.mentions.notices.push(format!(
                "{} more clauses like these are read as what was or is in use",
                past.len() - MOST_NOTED
            ));
        }
        self.set_aside(&past);
    }

    /// The clause as written, with a bracket it opens closed ("on a single T4 (16GB)"):
    /// the quote ends at its last word.
    fn told(&self, clause: &Clause) -> String {
        let mut quote = self.quoted(clause.start, clause.end);
        let open = quote
            .matches('(')
            .count()
            .saturating_sub(quote.matches(')').count());
        quote.extend(std::iter::repeat_n(')', open));
        quote
    }

    /// Takes the clauses' words and GPU names from the scan.
    fn set_aside(&mut self, clauses: &[Clause]) {
        for clause in clauses {
            for role in &mut self.roles[clause.start..=clause.end] {
                *role = Role::Used;
            }
        }
        // A GPU name in a clause set aside has just been marked used.
        let roles = &self.roles;
        self.gpu_spans
            .retain(|span| roles.get(span.start) != Some(&Role::Used));
    }

    /// The clauses that tell of use before now and ask for nothing. A clause of time words
    /// alone ("Previously,", "Last week,") tells it of the next one.
    fn clauses(&self) -> Vec<Clause> {
        let mut found = Vec::new();
        let mut carried = false;
        let mut start = 0;
        let ends_clause = |i: usize| match &self.tokens[i] {
            Token::Break(Boundary::Mark | Boundary::Line | Boundary::Cell) => true,
            Token::Word(word) => is_clause_joint(word),
            Token::Break(_) => false,
        };
        for i in 0..=self.tokens.len() {
            if i < self.tokens.len() && !ends_clause(i) {
                continue;
            }
            if i > start {
                let clause = Clause { start, end: i - 1 };
                let (past, only_time) = self.tells_of_past(&clause);
                if (past || carried) && !only_time && !self.asks(&clause) {
                    found.push(clause);
                }
                carried = only_time;
            }
            start = i + 1;
        }
        found
    }

    /// Whether the clause has a word of earlier use, and whether it is nothing but such
    /// words ("previously", "last week").
    fn tells_of_past(&self, clause: &Clause) -> (bool, bool) {
        let words: Vec<&str> = (clause.start..=clause.end)
            .filter_map(|i| self.word(i))
            .collect();
        let mut past = false;
        let mut time_words = 0;
        for (k, word) in words.iter().enumerate() {
            let next = words.get(k + 1).copied();
            let previous = k.checked_sub(1).and_then(|j| words.get(j)).copied();
            let marker = is_past_word(word)
                || *word == "last" && next.is_some_and(is_time_noun)
                // "we used to run on 8 T4s"; not "T4 VMs used for training".
                || *word == "used"
                    && (next == Some("to") || matches!(previous, Some("we" | "i" | "they")))
                || *word == "enough" && previous == Some("not")
                || *word == "slow" && previous == Some("too");
            if marker {
                past = true;
            }
            if marker || is_time_noun(word) || matches!(*word, "before" | "that" | "the") {
                time_words += 1;
            }
        }
        (past, past && time_words == words.len())
    }

    fn asks(&self, clause: &Clause) -> bool {
        (clause.start..=clause.end)
            .filter_map(|i| self.word(i))
            .any(is_asking_word)
    }

    fn names_vms_or_gpus(&self, clause: &Clause) -> bool {
        (clause.start..=clause.end).any(|i| self.roles[i] == Role::Gpu || self.counts_at(i))
    }

    /// Whether a count of VMs or GPUs starts at `i` ("2 V100 VMs", "a single T4", "an A100").
    /// "2 more L4 VMs" counts too.
    fn counts_at(&self, i: usize) -> bool {
        let more = matches!(self.word(i + 1), Some("more" | "extra" | "additional"));
        self.count_word(i).is_some() && self.find_head(i + 1 + usize::from(more)).is_some()
    }

    /// A GPU memory need at `i` ("24GB", "48 GB of VRAM"), which names a GPU as a name would.
    fn states_gpu_need(&self, i: usize) -> bool {
        let Some(word) = self.word(i) else {
            return false;
        };
        let sized = split_number_suffix(word).is_some_and(|(_, unit)| matches!(unit, "gb" | "g"))
            || word.parse::<u32>().is_ok() && self.word(i + 1) == Some("gb");
        sized
            && (i.saturating_sub(4)..i + 5)
                .filter_map(|j| self.word(j))
                .any(|w| matches!(w, "vram" | "memory" | "gpu" | "gpus"))
    }
}
