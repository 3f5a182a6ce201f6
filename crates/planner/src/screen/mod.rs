//! Screening of the request text before and after it is read: what is not a request for GPU
//! VMs here is refused with what to write instead (an empty text, no VMs or GPUs asked for,
//! a deletion, another cloud, an attempt to change the policy or the planner's rules), and
//! what the text asks for that a plan cannot hold (spot VMs, images, vCPU and RAM sizes…)
//! is listed so that every plan says what it did not use.

mod ignored;

use std::sync::LazyLock;

use regex::Regex;

use crate::PlanInput;
use crate::mentions::Mentions;

pub use ignored::ignored_parts;

/// Why a text is not planned at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// Nothing but white space.
    Empty,
    /// No VMs or GPUs asked for (a greeting, a question about something else, "some GPUs").
    NoRequest,
    /// A request to delete or tear down.
    Delete,
    /// A request to run on another cloud.
    OtherCloud,
    /// An attempt to set policy limits or to override the planner's rules from the text.
    PolicyOverride,
}

/// A refusal and the sentence saying what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

const EXAMPLE: &str =
    "e.g. \"2 VMs with one T4 each in us-west1\" or \"1 VM with 8 A100 80GB, name it llm-train\"";

static DELETE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:delete|destroy|tear\s+down|teardown|decommission|deprovision|terminate|shut\s+down|get\s+rid\s+of|wipe|nuke|remove|l[oö]schen|supprimer|eliminar|borrar)\b
        \s+(?P<object>\S+)",
    )
    .expect("delete pattern")
});
/// Words before a deleting verb that deny it: "don't delete them automatically", "no need
/// to destroy anything".
static DENIED_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bdon'?t|\bdo\s+not|\bnever|\bnot|\bwon'?t|\bwithout|\bno\s+need\s+to|\bshouldn'?t)\s+(?:[a-z-]+\s+)?$")
        .expect("denied deletion pattern")
});
/// A deletion the requester will do later, not one asked for now: "will delete them myself
/// when done", "tear down after", "remove everything once we're finished".
static DELETED_LATER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\S+ (?:\s+ (?:down|up|of))? \s+ (?: (?: it | them | everything | all | the \s+ \w+ ) \s+ )?
        (?: myself | ourselves | manually | by \s+ hand | later | after(?:wards?)? \s* (?: [.,;!?] | $ )
          | (?: when | once ) \s+ (?: (?: we | i ) (?: 're | 'm | \s+ are | \s+ am ) \s+ )? (?: done | finished ) )",
    )
    .expect("deleted later pattern")
});
/// A deletion with the verb last ("bitte alle VMs löschen", "all VMs delete").
static DELETE_VERB_LAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:alle|all|toutes|todas|todos|tous)\b.{0,40}\b(?:l[oö]schen|entfernen|abbauen|supprimer|eliminar|borrar|delete|destroy)\b")
        .expect("delete verb-last pattern")
});
static OTHER_CLOUD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?P<lead>on|in|at|using|via|into|to|with|use|an?)?\s*(?P<cloud>aws|amazon(?:\s+web\s+services)?|ec2|azure|oracle\s+cloud|oci|alibaba\s+cloud|ibm\s+cloud|digitalocean|lambda\s+labs|coreweave|runpod)\b",
    )
    .expect("cloud pattern")
});
static FOREIGN_INSTANCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[pg]\d[a-z]{0,3}\.\d{0,2}x?large|inf\d\.\d{0,2}x?large|trn\d\.\d{0,2}x?large|standard_n[cdv][a-z0-9_]*)\b")
        .expect("instance pattern")
});
/// Words that make another cloud a reference ("like our p3.2xlarge", "moving off AWS").
static REFERENCE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:like|similar|equivalent|comparable|instead|rather|migrat\w*|moving|move|from|than|vs|versus|compared|currently|used\s+to|same\s+as|matching|match|replace\w*|gcp|google\s+cloud|gce|compute\s+engine)\b")
        .expect("reference pattern")
});
static POLICY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<key>(?:policy\.)?(?:max_vms|max_gpus_per_vm|max_hourly_usd|allowed_regions|allowed_gpu_types|min_permission)|policy)\s*[:=]")
        .expect("policy key pattern")
});
static OVERRIDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:ignore|disregard|forget|bypass|override|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|previous\s+|prior\s+|above\s+|earlier\s+)*(?:instructions?|rules|policy|policies|limits?|constraints|guardrails|validation|system\s+prompt)\b")
        .expect("override pattern")
});

fn refuse(kind: RefusalKind, message: String) -> Option<Refusal> {
    Some(Refusal { kind, message })
}

/// The whole text of a request, as the screening reads it.
pub(crate) fn request_text(input: &PlanInput) -> String {
    format!("{}\n{}\n{}", input.title, input.body, input.instructions)
}

/// Refusals decided on the text alone, before anything is read from it.
pub fn refusal_of_text(input: &PlanInput) -> Option<Refusal> {
    let text = request_text(input);
    if text.trim().is_empty() {
        return refuse(
            RefusalKind::Empty,
            format!("The request is empty. Describe the VMs and GPUs you need, {EXAMPLE}."),
        );
    }
    if let Some(found) = POLICY_KEY.captures(&text).and_then(|c| c.name("key")) {
        return refuse(
            RefusalKind::PolicyOverride,
            format!(
                "The request tries to set the policy limit `{}`. A request cannot change the policy: its limits are set in the `policy:` section of `.github/promptops.yml` (or with `--policy FILE` on the command line). Ask only for the VMs you need.",
                found.as_str()
            ),
        );
    }
    if let Some(found) = OVERRIDE.find(&text) {
        return refuse(
            RefusalKind::PolicyOverride,
            format!(
                "The request asks to \"{}\". The planner's rules and the policy cannot be changed from a request; ask only for the VMs you need, {EXAMPLE}.",
                found.as_str()
            ),
        );
    }
    // What a pasted log or command says ("terraform destroy") is not asked for; the checks
    // above read everything, as the model would.
    let read = crate::mentions::request_text(&text);
    delete_refusal(&read, input).or_else(|| other_cloud_refusal(&read))
}

fn delete_refusal(text: &str, input: &PlanInput) -> Option<Refusal> {
    if let Some(found) = DELETE_VERB_LAST.find(text) {
        return refuse(RefusalKind::Delete, delete_message(found.as_str()));
    }
    for caps in DELETE.captures_iter(text) {
        // "delete it after 3 days" is a lifetime, read as one.
        let from_verb = caps.get(0).map_or("", |m| &text[m.start()..]);
        if crate::lifetime::ends_after_a_time(from_verb) {
            continue;
        }
        // "don't delete them", "will delete them myself when done": no deletion asked for
        // now (the plan names these words as not scheduling one, `ignored`).
        let before = caps.get(0).map_or("", |m| &text[..m.start()]);
        if DENIED_BEFORE.is_match(before) || DELETED_LATER.is_match(from_verb) {
            continue;
        }
        let object = caps
            .name("object")
            .map(|m| m.as_str().to_lowercase())
            .unwrap_or_default();
        let object = object.trim_matches(|c: char| !c.is_alphanumeric());
        // "remove 1 VM", "remove two GPUs" change a count (on an edit); "remove the spot" is
        // about a word of the request.
        let counted = object.bytes().all(|b| b.is_ascii_digit())
            || matches!(
                object,
                "one" | "two" | "three" | "four" | "five" | "a" | "an" | "another" | "half"
            );
        let deployment_words = matches!(
            object,
            "all"
                | "everything"
                | "them"
                | "it"
                | "my"
                | "our"
                | "the"
                | "this"
                | "these"
                | "those"
                | "deployment"
                | "vms"
                | "instances"
                | "machines"
                | "cluster"
                | "nodes"
                | "servers"
                | "every"
        );
        let verb = caps.get(0).map_or("", |m| m.as_str()).to_lowercase();
        let always = !verb.starts_with("remove");
        if counted || !(deployment_words || always && input.current.is_none()) {
            continue;
        }
        return refuse(
            RefusalKind::Delete,
            delete_message(caps.get(0).map_or("", |m| m.as_str())),
        );
    }
    None
}

fn delete_message(written: &str) -> String {
    format!(
        "The request asks to delete (\"{}\"); plans only create or change VMs. To remove a deployment, comment `/promptops destroy` on its issue or pull request; to make it smaller, write the numbers you want (e.g. \"1 VM\").",
        written.trim()
    )
}

/// Whether the words around `start..end` make the mention a reference ("like a p3.2xlarge",
/// "moving off AWS"); "I'd like" and "would like" are wishes, not comparisons.
fn reference_near(text: &str, start: usize, end: usize) -> bool {
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(30)
        .map_or(text.len(), |(i, _)| end + i);
    let around = text[from..to]
        .to_lowercase()
        .replace("would like", "")
        .replace("'d like", "")
        .replace("i like", "");
    REFERENCE_MARKER.is_match(&around)
}

fn other_cloud_refusal(text: &str) -> Option<Refusal> {
    if let Some(found) = FOREIGN_INSTANCE.find(text)
        && !reference_near(text, found.start(), found.end())
    {
        return refuse(
            RefusalKind::OtherCloud,
            format!(
                "\"{}\" is another cloud's instance type; PromptOps plans Google Cloud VMs only. Ask for the GPUs instead (e.g. \"1 VM with 8 A100\"), or write \"like a {}\" to get its equivalent here.",
                found.as_str(),
                found.as_str()
            ),
        );
    }
    for caps in OTHER_CLOUD.captures_iter(text) {
        let Some(cloud) = caps.name("cloud") else {
            continue;
        };
        if caps.name("lead").is_none() && !text.to_lowercase().contains("instance") {
            continue;
        }
        if reference_near(text, cloud.start(), cloud.end()) {
            continue;
        }
        return refuse(
            RefusalKind::OtherCloud,
            format!(
                "The request asks for {}; PromptOps plans Google Cloud VMs only (regions like us-west1). Ask for the same VMs without the other cloud, {EXAMPLE}.",
                cloud.as_str()
            ),
        );
    }
    None
}

/// The refusal for a text in which nothing was read that asks for VMs or GPUs.
pub fn refusal_of_mentions(mentions: &Mentions, input: &PlanInput) -> Option<Refusal> {
    let counts = mentions.states_a_count();
    let what = !(mentions.gpu_type.is_empty()
        && mentions.machine_type.is_empty()
        && mentions.gpu_requirement.is_empty()
        && mentions.model_memory.is_empty()
        && mentions.biggest.is_empty());
    if !counts && let Some(vague) = mentions.unquantified.first() {
        return refuse(
            RefusalKind::NoRequest,
            format!(
                "\"{vague}\" does not say how many. Write the number of VMs and GPUs you need, {EXAMPLE}."
            ),
        );
    }
    let anything = counts || what || !mentions.name.is_empty();
    let edit = input.current.is_some()
        && !(mentions.region.is_empty()
            && mentions.zone.is_empty()
            && mentions.area.is_empty()
            && mentions.boot_disk_size_gb.is_empty());
    if anything || edit {
        return None;
    }
    refuse(
        RefusalKind::NoRequest,
        format!(
            "No request for VMs or GPUs was found in the text. Say how many VMs and which GPU you need, {EXAMPLE}."
        ),
    )
}
