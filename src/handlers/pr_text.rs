//! The pull request's title and body for a planned request: the request quoted, what was
//! planned, how the request was read and what was assumed, the policy limits it was
//! checked against and the cost. Free text (the request, the model's rationale and
//! assumptions) appears here — in Markdown for humans — and never in tfvars; it is made
//! inert so that it cannot close the table, link, embed images, mention people or teams,
//! or reference issues.
//!
//! The body links the issue without a closing keyword: merging applies the plan, and the
//! issue is closed only once that apply has succeeded (`handlers::pr_merge`).

use promptops_core::{Catalog, DeploymentRequest, IssueNumber, Policy};

pub struct PrText {
    pub title: String,
    pub body: String,
}

pub struct PrContext<'a> {
    pub issue: IssueNumber,
    /// The issue's title and body: the request as written.
    pub request_title: &'a str,
    pub request_body: &'a str,
    /// What the `/promptops plan` comment added, if anything.
    pub instructions: &'a str,
    pub planned_by: &'a str,
    pub tfvars_path: &'a str,
    /// How the planner read the request (e.g. how counts were read).
    pub notes: &'a [String],
    /// The limits the plan was validated against.
    pub policy: &'a Policy,
    /// When the deployment expires, in words (see `handlers::expiry::describe`).
    pub expires: String,
}

/// Longest request quoted in full; the issue holds the rest.
const MAX_QUOTE_CHARS: usize = 3_000;

/// One-line summary used in the title and in comments, e.g. "5 × n1-standard-4 with 1 × T4 in us-west1-b".
pub fn summary(catalog: &Catalog, request: &DeploymentRequest) -> String {
    let gpu_name = catalog
        .gpu(&request.gpu_type)
        .map(|gpu| gpu.name.clone())
        .unwrap_or_else(|| request.gpu_type.clone());
    format!(
        "{} × {} with {} × {} in {}",
        request.vm_count, request.machine_type, request.gpu_count, gpu_name, request.zone
    )
}

pub fn render(catalog: &Catalog, request: &DeploymentRequest, ctx: &PrContext<'_>) -> PrText {
    let title = format!(
        "PromptOps: {} ({})",
        request.name,
        summary(catalog, request)
    );
    let mut body = format!(
        "Deployment **`{}`**, requested in #{}:\n\n{}\n\n",
        request.name,
        ctx.issue,
        quote(ctx)
    );
    body.push_str(&plan_table(catalog, request, ctx));
    if !request.rationale.trim().is_empty() {
        body.push_str("### Why this plan\n\n");
        body.push_str(&escape(&request.rationale));
        body.push_str("\n\n");
    }
    write_list(&mut body, "How the request was read", ctx.notes);
    write_list(&mut body, "Assumptions", &request.assumptions);
    body.push_str(&limits_table(catalog, request, ctx.policy));
    body.push_str(&format!(
        "The only file changed is `{}`. Comment `/promptops plan <what to change>` on the issue or here to revise it. Merging applies it; #{} stays open until the apply has succeeded, and PromptOps then closes it.\n",
        ctx.tfvars_path, ctx.issue
    ));
    PrText { title, body }
}

/// The request as written, inert, in a code block (cut when very long).
fn quote(ctx: &PrContext<'_>) -> String {
    let parts = [ctx.request_title.trim(), ctx.request_body.trim()];
    let mut text = parts
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n\n");
    if text.chars().count() > MAX_QUOTE_CHARS {
        text = text.chars().take(MAX_QUOTE_CHARS).collect();
        text.push_str(&format!(
            "\n[… cut; the whole request is in #{}]",
            ctx.issue
        ));
    }
    let mut quoted = promptops_commands::inert_block(&text);
    let instructions = ctx.instructions.trim();
    if !instructions.is_empty() {
        quoted.push_str(&format!(
            "\n\nwith the instructions `/promptops plan` {}",
            escape(instructions)
        ));
    }
    quoted
}

fn plan_table(catalog: &Catalog, request: &DeploymentRequest, ctx: &PrContext<'_>) -> String {
    let cost = catalog.estimate(request);
    let mut table = String::from("| Setting | Planned |\n|---|---|\n");
    table.push_str(&format!("| VMs | {} |\n", request.vm_count));
    table.push_str(&format!(
        "| GPU | {} × `{}` per VM ({} in total) |\n",
        request.gpu_count,
        request.gpu_type,
        request.total_gpus()
    ));
    table.push_str(&format!("| Machine type | `{}` |\n", request.machine_type));
    table.push_str(&format!("| Zone | `{}` |\n", request.zone));
    table.push_str(&format!(
        "| Boot disk | {} GB |\n",
        request.boot_disk_size_gb
    ));
    table.push_str(&format!(
        "| Estimated cost | {}/hour · {}/month (on-demand, prices as of {}) |\n",
        usd(cost.hourly_usd, 2),
        usd(cost.monthly_usd, 0),
        catalog.prices_as_of()
    ));
    table.push_str(&format!("| Expires | {} |\n", ctx.expires));
    table.push_str(&format!("| Planned by | {} |\n\n", escape(ctx.planned_by)));
    table
}

/// The policy's limits next to what the plan asks for; the plan passed every one (an
/// invalid plan never reaches a pull request).
fn limits_table(catalog: &Catalog, request: &DeploymentRequest, policy: &Policy) -> String {
    let cost = catalog.estimate(request);
    let listed = |allowed: &[String], any: &str| {
        if allowed.is_empty() {
            any.to_owned()
        } else {
            let names: Vec<String> = allowed.iter().map(|a| format!("`{}`", escape(a))).collect();
            format!("one of {}", names.join(", "))
        }
    };
    let mut table = String::from(
        "### Policy limits checked\n\n| Limit | This plan | Allowed |\n|---|---|---|\n",
    );
    table.push_str(&format!(
        "| VMs | {} | at most {} |\n",
        request.vm_count, policy.max_vms
    ));
    table.push_str(&format!(
        "| GPUs per VM | {} | at most {} |\n",
        request.gpu_count, policy.max_gpus_per_vm
    ));
    table.push_str(&format!(
        "| Cost per hour | {} | at most {} |\n",
        usd(cost.hourly_usd, 2),
        usd(policy.max_hourly_usd, 2)
    ));
    table.push_str(&format!(
        "| Region | `{}` | {} |\n",
        request.region(),
        listed(&policy.allowed_regions, "any region of the catalog")
    ));
    table.push_str(&format!(
        "| GPU type | `{}` | {} |\n\n",
        request.gpu_type,
        listed(&policy.allowed_gpu_types, "any GPU of the catalog")
    ));
    table
}

fn write_list(body: &mut String, heading: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    body.push_str(&format!("### {heading}\n\n"));
    for line in lines {
        body.push_str(&format!("- {}\n", escape(line)));
    }
    body.push('\n');
}

/// Dollars with thousands separators: `usd(59203.4, 0)` is `$59,203`.
pub fn usd(amount: f64, decimals: usize) -> String {
    promptops_core::usd(amount.max(0.0), decimals)
}

/// Text the model wrote, inert: no Markdown, HTML, mentions, references or autolinks.
fn escape(text: &str) -> String {
    promptops_commands::inert_inline(text)
}

#[cfg(test)]
#[path = "pr_text_tests.rs"]
mod tests;
