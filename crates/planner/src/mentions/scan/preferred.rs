//! Two GPUs named as a preference and its fallback: "T4 preferred but L4 is fine too",
//! "preferably L4, T4 also ok", "A100 if possible, otherwise V100", "ideally H100, but A100
//! 80GB works", "L4 (or T4 if L4 is unavailable)". They were refused as naming two GPU
//! types, although the request says which one it wants. Now the preferred one is planned
//! (on the model path it is the value the model must keep), and the plan names the other
//! as the alternative it is.

use super::Scanner;

/// How two GPUs named side by side are joined.
enum Joint {
    Or,
    And,
}

/// Words right before a GPU that prefer it. ("Preferred" after a GPU is that GPU's: "T4
/// preferred but L4 …".)
fn prefers_before(previous: &[&str]) -> bool {
    matches!(previous, [.., "preferably" | "ideally" | "prefer"])
}

/// Words right after a GPU that prefer it: "T4 preferred", "A100 if possible".
fn prefers_after(next: &[&str]) -> bool {
    matches!(
        next,
        ["preferred" | "preferably" | "ideally" | "first", ..]
            | ["if", "possible", ..]
            | ["would", "be", "ideal" | "best" | "preferred", ..]
    )
}

/// Words around a GPU that make it the fallback: "otherwise V100", "T4 also ok", "A100 80GB
/// works", "L4 is fine too", "or T4 if L4 is unavailable".
fn falls_back(previous: &[&str], next: &[&str]) -> bool {
    let before = matches!(
        previous,
        [.., "otherwise" | "else" | "fallback" | "backup"] | [.., "fall", "back", "to"]
    );
    let fine = |w: &&str| matches!(*w, "fine" | "ok" | "okay" | "acceptable" | "works");
    // "L4 is not ok" rejects it (read as such elsewhere).
    let denied = next
        .iter()
        .take(3)
        .any(|w| matches!(*w, "not" | "isn't" | "never"));
    // "T4 if L4 is unavailable" (or "not available").
    let unavailable =
        next.contains(&"unavailable") || next.contains(&"available") && next.contains(&"not");
    let after = !denied && next.iter().take(3).any(fine)
        || matches!(next, ["as", "a", "fallback" | "backup", ..])
        || next.first() == Some(&"if") && unavailable;
    before || after
}

impl Scanner<'_> {
    /// Keeps the preferred of two GPUs named as a preference and its fallback (see the
    /// module); whether it did.
    pub(super) fn keep_preferred_gpu(&mut self) -> bool {
        let [first, second] = self.mentions.gpu_type.as_slice() else {
            return false;
        };
        let (first, second) = (first.value.clone(), second.value.clone());
        let marks = |id: &str| {
            let span = self.gpu_spans.iter().find(|span| span.id == id)?;
            // Not past another GPU: in "T4 preferred but L4", "preferred" is the T4's.
            let from = (span.start.saturating_sub(3)..span.start)
                .rev()
                .find(|&j| self.roles[j] == super::Role::Gpu)
                .map_or(span.start.saturating_sub(3), |j| j + 1);
            let previous: Vec<&str> = (from..span.start)
                .filter_map(|j| self.word(j))
                .filter(|w| !matches!(*w, "a" | "an" | "the" | "but" | "and"))
                .collect();
            let next: Vec<&str> = (span.end + 1..span.end + 8)
                .map_while(|j| self.word(j))
                .collect();
            let preferred = prefers_before(&previous) || prefers_after(&next);
            Some((preferred, falls_back(&previous, &next)))
        };
        let (Some(a), Some(b)) = (marks(&first), marks(&second)) else {
            return false;
        };
        // "preferably T4 or L4", "an A100, or an H100 if possible": the preference covers
        // both, or the choice is left open, unless one is said to be the fallback ("L4 (or
        // T4 if L4 is unavailable)").
        match self.joined(&first, &second) {
            // "both T4 and L4 are fine": what is said after them is said of both.
            Some(Joint::And) => return false,
            Some(Joint::Or) if !(a.1 || b.1) => return false,
            _ => {}
        }
        // One preferred and the other not, or one the fallback and the other not.
        let keep_first = match (a, b) {
            ((true, _), (false, _)) | ((false, false), (false, true)) => true,
            ((false, _), (true, _)) | ((false, true), (false, false)) => false,
            _ => return false,
        };
        let (kept, other) = if keep_first { (0, 1) } else { (1, 0) };
        let alternative = self.mentions.gpu_type[other].written.clone();
        let mut chosen = self.mentions.gpu_type.swap_remove(kept);
        let reading = format!(
            "\"{}\" read as the GPU preferred and \"{alternative}\" as a fallback, which is not planned",
            chosen.written
        );
        chosen = chosen.with_reading(reading);
        self.mentions.gpu_type = vec![chosen];
        true
    }

    /// How the two GPUs are joined: by "or" ("T4 or L4", "A100, or an H100"), or by "and"
    /// alone ("T4 and L4"). A comma alone joins nothing ("preferably L4, T4 also ok").
    fn joined(&self, first: &str, second: &str) -> Option<Joint> {
        let span = |id: &str| self.gpu_spans.iter().find(|span| span.id == id);
        let (a, b) = (span(first)?, span(second)?);
        let (left, right) = if a.end < b.start { (a, b) } else { (b, a) };
        let between: Vec<&str> = (left.end + 1..right.start)
            .filter_map(|j| self.word(j))
            .collect();
        if between.contains(&"or") {
            Some(Joint::Or)
        } else if between.contains(&"and")
            && between.iter().all(|w| matches!(*w, "and" | "a" | "an"))
        {
            Some(Joint::And)
        } else {
            None
        }
    }
}
