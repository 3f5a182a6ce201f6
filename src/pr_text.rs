//! The pull request's title and body for a planned request. Free text from the model
//! (rationale, assumptions) appears here — in Markdown for humans — and never in tfvars;
//! it is escaped so that it cannot close the table, link, embed images, mention people or
//! teams, or reference issues.

use promptops_core::{Catalog, DeploymentRequest};

pub struct PrText {
    pub title: String,
    pub body: String,
}

pub struct PrContext<'a> {
    pub issue: u64,
    pub planned_by: &'a str,
    pub tfvars_path: &'a str,
    pub notes: &'a [String],
    /// When the deployment expires, in words (see `handlers::expiry::describe`).
    pub expires: String,
}

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
    let cost = catalog.estimate(request);
    let title = format!(
        "PromptOps: {} ({})",
        request.name,
        summary(catalog, request)
    );
    let mut body = String::new();
    body.push_str(&format!(
        "Deployment **`{}`** requested in #{}.\n\n",
        request.name, ctx.issue
    ));
    body.push_str("| | |\n|---|---|\n");
    body.push_str(&format!("| VMs | {} |\n", request.vm_count));
    body.push_str(&format!(
        "| GPU | {} × `{}` per VM ({} in total) |\n",
        request.gpu_count,
        request.gpu_type,
        u64::from(request.gpu_count) * u64::from(request.vm_count)
    ));
    body.push_str(&format!("| Machine type | `{}` |\n", request.machine_type));
    body.push_str(&format!("| Zone | `{}` |\n", request.zone));
    body.push_str(&format!(
        "| Boot disk | {} GB |\n",
        request.boot_disk_size_gb
    ));
    body.push_str(&format!(
        "| Estimated cost | ${:.2}/hour · ${:.0}/month (on-demand, prices as of {}) |\n",
        cost.hourly_usd,
        cost.monthly_usd,
        catalog.prices_as_of()
    ));
    body.push_str(&format!("| Expires | {} |\n", ctx.expires));
    body.push_str(&format!("| Planned by | {} |\n\n", escape(ctx.planned_by)));
    if !request.rationale.trim().is_empty() {
        body.push_str("### Rationale\n\n");
        body.push_str(&escape(&request.rationale));
        body.push_str("\n\n");
    }
    if !request.assumptions.is_empty() || !ctx.notes.is_empty() {
        body.push_str("### Assumptions\n\n");
        for line in request.assumptions.iter().chain(ctx.notes) {
            body.push_str(&format!("- {}\n", escape(line)));
        }
        body.push('\n');
    }
    body.push_str(&format!(
        "The only file changed is `{}`. Comment `/promptops plan <what to change>` on the issue or here to revise it; merging applies it.\n\nCloses #{}\n",
        ctx.tfvars_path, ctx.issue
    ));
    PrText { title, body }
}

/// Text the model wrote, inert: no Markdown, HTML, mentions, references or autolinks.
fn escape(text: &str) -> String {
    promptops_commands::inert_inline(text)
}
