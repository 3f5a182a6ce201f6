//! The plain-language explanation under a plan comment's headline: three to five sentences
//! written from the plan's facts (always), then, when a model is configured, the model's
//! own words as quoted, inert text — or one line saying why they are missing.
//!
//! Every name in the sentences comes from the plan (resource keys and outputs a pull
//! request chose) and sits in a code span; the model's text is escaped line by line. So a
//! resource named like an instruction, a link, a mention or a command reads as written and
//! does nothing, and nothing here can change the headline's counts or what is applied.

use std::fmt::Write as _;
use std::sync::LazyLock;

use promptops_commands::{code_span, inert_inline};
use promptops_core::usd;
use regex::Regex;

use crate::plan_facts::{Addresses, Cost, PlanFacts};
use crate::report::ChangeAction;

/// Longest name shown in a sentence; longer ones (for_each keys) are shortened.
const MAX_NAME_CHARS: usize = 120;
/// Names shown per kind of change in a sentence; the rest are counted.
const NAMES_PER_SENTENCE: usize = 3;

/// What the model contributed to an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelNote {
    /// No model is configured: the summary stands alone.
    NotConfigured,
    /// The model's answer (plain text, already checked for length).
    Written { model: String, text: String },
    /// The model was asked and gave nothing usable; why.
    Unavailable(String),
}

/// The explanation a plan comment shows under its headline.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub facts: PlanFacts,
    pub model: ModelNote,
}

/// The explanation block (ends with a blank line).
pub fn render_explanation(explanation: &Explanation) -> String {
    let mut out = String::from("**In short:** ");
    out.push_str(&summary_sentences(&explanation.facts).join(" "));
    out.push_str("\n\n");
    match &explanation.model {
        ModelNote::NotConfigured => {}
        ModelNote::Written { model, text } => {
            let _ = writeln!(
                out,
                "> **In the words of {}** (written from the facts above, which it cannot change; check them before relying on it):",
                inert_inline(model)
            );
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                // A quoted line of its own each: no line can make the one above a heading.
                let _ = write!(out, ">\n> {}\n", inert_model_line(line));
            }
            out.push('\n');
        }
        ModelNote::Unavailable(reason) => {
            let _ = writeln!(
                out,
                "<sub>The model's explanation is unavailable: {}.</sub>\n",
                inert_model_line(reason.trim_end_matches('.'))
            );
        }
    }
    out
}

/// The deterministic summary: what changes, the request variables, the cost, and what to
/// look at twice, one sentence each (three or four).
pub fn summary_sentences(facts: &PlanFacts) -> Vec<String> {
    let mut sentences = vec![changes_sentence(facts)];
    if let Some(request) = request_sentence(facts) {
        sentences.push(request);
    }
    sentences.push(cost_sentence(facts));
    sentences.push(warnings_sentence(facts));
    sentences
}

fn changes_sentence(facts: &PlanFacts) -> String {
    let parts: Vec<String> = [
        ("creates", &facts.created),
        ("changes", &facts.updated),
        ("replaces", &facts.replaced),
        ("destroys", &facts.destroyed),
    ]
    .into_iter()
    .filter(|(_, addresses)| addresses.count > 0)
    .map(|(verb, addresses)| {
        let noun = if addresses.count == 1 {
            "resource"
        } else {
            "resources"
        };
        format!("{verb} {} {noun} ({})", addresses.count, names(addresses))
    })
    .collect();
    if parts.is_empty() {
        return "This plan creates, changes and destroys no resource.".to_owned();
    }
    format!("This plan {}.", join_and(&parts))
}

fn request_sentence(facts: &PlanFacts) -> Option<String> {
    if facts.destroys_deployment {
        return Some(format!(
            "It removes the deployment {} entirely.",
            name(&facts.deployment)
        ));
    }
    if facts.new_deployment && !facts.variables.is_empty() {
        let values: Vec<String> = crate::findings::REQUEST_VARIABLES
            .iter()
            .filter_map(|key| {
                facts
                    .variables
                    .get(*key)
                    .map(|v| format!("{key} {}", name(v)))
            })
            .collect();
        return Some(format!("It is a new deployment: {}.", join_and(&values)));
    }
    if facts.variable_changes.is_empty() {
        return None;
    }
    let changes: Vec<String> = facts
        .variable_changes
        .iter()
        .map(|change| {
            let side = |value: &Option<String>| value.as_deref().map_or("unset".to_owned(), name);
            format!(
                "{} from {} to {}",
                change.name,
                side(&change.before),
                side(&change.after)
            )
        })
        .collect();
    Some(format!("The request changes {}.", join_and(&changes)))
}

fn cost_sentence(facts: &PlanFacts) -> String {
    let show = |cost: &Cost| {
        format!(
            "{}/hour ({}/month)",
            usd(cost.hourly_usd, 2),
            usd(cost.monthly_usd, 0)
        )
    };
    match (&facts.cost_before, &facts.cost_after) {
        (Some(before), Some(after)) => {
            let delta = after.hourly_usd - before.hourly_usd;
            let change = if delta.abs() < 0.005 {
                "no change".to_owned()
            } else {
                let sign = if delta > 0.0 { "+" } else { "" };
                format!(
                    "{sign}{}/hour, {sign}{}/month",
                    usd(delta, 2),
                    usd(after.monthly_usd - before.monthly_usd, 0)
                )
            };
            format!(
                "Estimated compute cost: {} before, {} after ({change}).",
                show(before),
                show(after)
            )
        }
        (None, Some(after)) => format!(
            "Estimated compute cost after: {}; the cost before is unknown (the applied variables could not be read or priced).",
            show(after)
        ),
        (Some(before), None) => format!(
            "Estimated compute cost before: {}; the cost after is unknown (the catalog does not price the planned machines).",
            show(before)
        ),
        (None, None) => "The compute cost before and after is unknown (the variables could not be read or priced).".to_owned(),
    }
}

fn warnings_sentence(facts: &PlanFacts) -> String {
    if !facts.has_warnings() {
        return "Nothing to look at twice: no destroy, no replacement, no firewall open to the world, no output change and no action.".to_owned();
    }
    let mut items = Vec::new();
    if facts.destroyed.count > 0 {
        items.push(format!("{} destroyed", names(&facts.destroyed)));
    }
    if facts.replaced.count > 0 {
        items.push(format!(
            "{} replaced (destroyed and created again)",
            names(&facts.replaced)
        ));
    }
    for open in facts.open_to_world.iter().take(NAMES_PER_SENTENCE) {
        let ranges: Vec<String> = open.ranges.iter().map(|r| name(r)).collect();
        items.push(format!(
            "{} open to the whole internet ({})",
            name(&open.address),
            ranges.join(", ")
        ));
    }
    if facts.open_to_world.len() > NAMES_PER_SENTENCE {
        items.push(format!(
            "{} more firewalls open to the whole internet",
            facts.open_to_world.len() - NAMES_PER_SENTENCE
        ));
    }
    if !facts.outputs.is_empty() {
        let outputs: Vec<String> = facts
            .outputs
            .iter()
            .take(NAMES_PER_SENTENCE)
            .map(|output| format!("{} ({})", name(&output.name), output_verb(output.action)))
            .collect();
        let more = facts.outputs.len().saturating_sub(NAMES_PER_SENTENCE);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        items.push(format!("output {}{more}", outputs.join(", ")));
    }
    if !facts.actions.is_empty() {
        let actions: Vec<String> = facts
            .actions
            .iter()
            .take(NAMES_PER_SENTENCE)
            .map(|action| name(&action.address))
            .collect();
        let count = facts.actions.len();
        let noun = if count == 1 { "action" } else { "actions" };
        items.push(format!("{count} {noun} run ({})", actions.join(", ")));
    }
    format!("⚠️ Look twice: {}.", items.join("; "))
}

fn output_verb(action: ChangeAction) -> &'static str {
    match action {
        ChangeAction::Create => "added",
        ChangeAction::Delete => "removed",
        _ => "changes",
    }
}

/// The first names of `addresses` as code spans, with how many more there are.
fn names(addresses: &Addresses) -> String {
    let shown: Vec<String> = addresses
        .listed
        .iter()
        .take(NAMES_PER_SENTENCE)
        .map(|address| name(address))
        .collect();
    let more = addresses.count.saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        join_and(&shown)
    }
}

/// A name from the plan as a code span on one line: nothing in it links, mentions,
/// references or starts a command.
fn name(text: &str) -> String {
    let mut one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX_NAME_CHARS {
        one_line = one_line.chars().take(MAX_NAME_CHARS).collect::<String>() + "…";
    }
    code_span(&one_line)
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// One line of the model's text (or of a failure reason it caused), inert: no Markdown,
/// HTML, mention, reference, link, or `/promptops` command. Backticks become quotes, so
/// that no run of them can open a code span or a fence, balanced or not.
fn inert_model_line(line: &str) -> String {
    let mut line = inert_inline(&line.replace('`', "'"));
    // A leading `-`, `+` or `=` would start a list, a rule or a heading's underline.
    if line.starts_with(['-', '+', '=']) {
        line.insert(0, '\\');
    }
    COMMAND.replace_all(&line, "/\u{200b}$1").into_owned()
}

/// `/promptops` in any case, as the command parser reads it.
static COMMAND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)/(promptops)").expect("command pattern"));
