//! The messages sent to the model: the system prompt (`prompts/system.txt` plus a catalog
//! and policy table generated at run time, so prices and zones are never copied by hand),
//! the user's request, and the repair turn.

use std::fmt::Write as _;

use promptops_core::{Catalog, GpuAttachment, Policy, ValidationErrors};

use crate::PlanInput;

/// The hand-written part of the system prompt.
pub const SYSTEM_PROMPT: &str = include_str!("../../../prompts/system.txt");

/// The full system prompt: the text, then the catalog and the policy.
pub fn system_prompt(catalog: &Catalog, policy: &Policy) -> String {
    let mut prompt = String::from(SYSTEM_PROMPT);
    prompt.push('\n');
    prompt.push_str(&catalog_table(catalog));
    prompt.push('\n');
    prompt.push_str(&policy_text(policy));
    prompt
}

/// The catalog as Markdown tables: GPUs (id, price, how attached, counts, zones) and
/// machine types (price, built-in GPUs).
pub fn catalog_table(catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CATALOG (on-demand USD prices as of {}; default region {}; boot disk {} GB by default, {}-{} GB allowed)",
        catalog.prices_as_of(),
        catalog.default_region(),
        catalog.boot_disk().default_gb,
        catalog.boot_disk().min_gb,
        catalog.boot_disk().max_gb,
    );
    out.push_str("\nGPU types:\n");
    out.push_str("| gpu_type | name | GPU memory GB | USD per GPU-hour | how it reaches the VM | GPUs per VM | zones offering it |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for gpu in catalog.gpus() {
        let (how, counts) = match &gpu.attachment {
            GpuAttachment::Attached { family, counts } => (
                format!("attached to {} machine types", family.to_uppercase()),
                join(counts.iter()),
            ),
            GpuAttachment::BuiltIn => {
                let machines = catalog.machine_types_with_builtin(&gpu.id);
                let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
                let mut counts: Vec<u32> = machines
                    .iter()
                    .filter_map(|m| m.builtin_gpu.as_ref().map(|(_, c)| *c))
                    .collect();
                counts.sort_unstable();
                counts.dedup();
                let how = format!(
                    "built into {} (the machine type fixes the count)",
                    names.join(", ")
                );
                (how, join(counts.iter()))
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {} | {} | {} |",
            gpu.id,
            gpu.name,
            gpu.memory_gb,
            gpu.usd_per_gpu_hour,
            how,
            counts,
            gpu.zones.join(", ")
        );
    }
    out.push_str(
        "\nMachine types (price per VM-hour; for built-in GPUs the price includes them):\n",
    );
    out.push_str("| machine_type | family | vCPUs | memory GB | USD per hour | built-in GPUs |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for machine in catalog.machine_types() {
        let builtin = machine.builtin_gpu.as_ref().map_or_else(
            || "none".to_owned(),
            |(id, count)| format!("{count} x {id}"),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {} |",
            machine.name,
            machine.family,
            machine.vcpus,
            machine.memory_gb,
            machine.usd_per_hour,
            builtin
        );
    }
    out.push_str(&regions_table(catalog));
    out
}

/// Regions with the places people name for them ("Oregon"), the areas ("Europe"), and
/// the regions the catalog does not offer, so that the model maps places as the offline
/// planner does and never plans a region the request did not ask for.
pub fn regions_table(catalog: &Catalog) -> String {
    let mut out = String::from("\nRegions (and the places people name for them):\n");
    out.push_str("| region | places |\n|---|---|\n");
    for region in catalog.region_list() {
        let _ = writeln!(out, "| {} | {} |", region.name, region.places.join(", "));
    }
    if !catalog.areas().is_empty() {
        out.push_str("\nAreas (use the first listed region that offers the GPU, and say so in assumptions):\n");
        for area in catalog.areas() {
            let _ = writeln!(
                out,
                "- {} ({}): {}",
                area.name,
                area.names.join(", "),
                area.regions.join(", ")
            );
        }
    }
    if !catalog.other_regions().is_empty() {
        let others: Vec<String> = catalog
            .other_regions()
            .iter()
            .map(|r| format!("{} ({})", r.name, r.places.join(", ")))
            .collect();
        let _ = writeln!(
            out,
            "\nNot offered (a request for these cannot be planned): {}",
            others.join("; ")
        );
    }
    out
}

/// The repository's policy limits, in words.
pub fn policy_text(policy: &Policy) -> String {
    let regions = if policy.allowed_regions.is_empty() {
        "every region in the catalog".to_owned()
    } else {
        policy.allowed_regions.join(", ")
    };
    let gpus = if policy.allowed_gpu_types.is_empty() {
        "every GPU in the catalog".to_owned()
    } else {
        policy.allowed_gpu_types.join(", ")
    };
    format!(
        "POLICY: at most {} VMs; at most {} GPUs per VM; at most {:.2} USD per hour for the whole deployment; allowed regions: {}; allowed GPU types: {}.\n",
        policy.max_vms, policy.max_gpus_per_vm, policy.max_hourly_usd, regions, gpus
    )
}

/// The user turn: the issue, the comment's instructions, and the current values on edits.
pub fn user_message(input: &PlanInput) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Issue title: {}", input.title.trim());
    let _ = writeln!(out, "\nIssue body:\n{}", fenced(&input.body));
    if !input.instructions.trim().is_empty() {
        let _ = writeln!(
            out,
            "\nAdditional instructions from the comment (they take precedence over the issue body):\n{}",
            fenced(&input.instructions)
        );
    }
    match &input.current {
        Some(current) => {
            let json = serde_json::to_string_pretty(current).unwrap_or_default();
            let _ = writeln!(
                out,
                "\nThis is an edit of an existing deployment. Its current values (keep every one the request does not ask to change, including the name):\n```json\n{json}\n```"
            );
        }
        None => out.push_str("\nThis is a new deployment.\n"),
    }
    out.push_str("\nAnswer with the JSON object of the output fields.");
    out
}

/// Appends the values the request states explicitly (read by `mentions`), which the
/// answer must keep.
pub fn with_stated_values(mut message: String, stated: &[String]) -> String {
    if !stated.is_empty() {
        message.push_str("\n\nValues the request states explicitly (the plan must keep them):\n");
        for line in stated {
            let _ = writeln!(message, "- {line}");
        }
    }
    message
}

/// The repair turn: what was wrong with the previous answer.
pub fn repair_message(problem: &str) -> String {
    format!(
        "Your answer could not be used:\n{problem}\n\nAnswer again with the corrected JSON object. Fix every problem listed, use only values from the catalog table, and keep every value the user stated explicitly."
    )
}

/// Validation problems as a bulleted list for the repair turn.
pub fn problem_list(errors: &ValidationErrors) -> String {
    errors
        .iter()
        .map(|e| format!("- {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Puts user text in a fence longer than any backtick run inside it, so it cannot close
/// the fence early and pose as instructions.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}", text.trim())
}

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}
