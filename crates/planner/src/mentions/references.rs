//! Things named as a reference rather than as catalog values, rewritten into what the
//! scanner reads and stated as readings:
//! - another cloud's GPU instance type ("p3.8xlarge") becomes its equivalent here ("VMs with 4
//!   nvidia-tesla-v100 GPUs each"); whether the request may use it at all (it may not ask to
//!   run on that cloud) is decided by the planner's screening before this;
//! - a GPU this catalog does not offer but knows ("RTX 4090", "A10G") becomes "a GPU with at
//!   least its memory", which the planner meets with the cheapest GPU that has it.

use std::sync::LazyLock;

use promptops_core::Catalog;
use regex::{Captures, Regex};

use super::scan::is_vm_noun;

static INSTANCE_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\b(?P<article>an?|one|the|our|my|their)\s+)?\b(?P<name>[a-z][a-z0-9]{1,4}\.\d{0,2}x?large|standard_[a-z0-9_]+)\b",
    )
        .expect("instance type pattern")
});

pub(super) fn rewrite(text: &str, catalog: &Catalog) -> (String, Vec<String>) {
    let mut readings = Vec::new();
    let text = INSTANCE_TYPE
        .replace_all(text, |caps: &Captures| {
            let written = &caps["name"];
            match catalog.other_cloud_instance(written) {
                Some(instance) => {
                    readings.push(format!(
                        "\"{written}\" ({}) read as its equivalent here: {} x {} per VM",
                        instance.cloud, instance.gpu_count, instance.gpu
                    ));
                    // "a p3.8xlarge" is one VM like it; "2 p3.8xlarge" keeps its count.
                    let vms = if caps.name("article").is_some() {
                        ""
                    } else {
                        "VMs"
                    };
                    format!(
                        " {vms} with {} {} GPUs each ",
                        instance.gpu_count, instance.gpu
                    )
                }
                None => caps[0].to_owned(),
            }
        })
        .into_owned();
    let text = reference_gpus(&text, catalog, &mut readings);
    (text, readings)
}

fn reference_gpus(text: &str, catalog: &Catalog, readings: &mut Vec<String>) -> String {
    let mut out = text.to_owned();
    for gpu in catalog.reference_gpus() {
        for alias in &gpu.aliases {
            // Most texts name none of these: the pattern is built only when the alias's
            // model number (its last word) occurs at all.
            let model = alias.rsplit(' ').next().unwrap_or(alias);
            if !out.to_lowercase().contains(model) {
                continue;
            }
            let pattern = format!(
                r"(?i)\b(?:nvidia\s+)?(?:geforce\s+)?{}s?\b",
                alias
                    .split(' ')
                    .map(regex::escape)
                    .collect::<Vec<_>>()
                    .join(r"[\s-]*")
            );
            let Ok(regex) = Regex::new(&pattern) else {
                continue;
            };
            let mut rewritten = String::with_capacity(out.len());
            let mut last = 0;
            for found in regex.find_iter(&out) {
                // "4090 VMs" counts VMs; only a GPU name is a reference.
                let next_word = out[found.end()..]
                    .split_whitespace()
                    .next()
                    .map(str::to_lowercase);
                if alias.bytes().all(|b| b.is_ascii_digit())
                    && next_word.as_deref().is_some_and(is_vm_noun)
                {
                    continue;
                }
                rewritten.push_str(&out[last..found.start()]);
                rewritten.push_str(&format!(" GPU with at least {}GB ", gpu.memory_gb));
                last = found.end();
                let reading = format!(
                    "\"{}\" ({}, {} GB) is not offered here; read as a GPU with at least {} GB of memory",
                    found.as_str().trim(),
                    gpu.kind,
                    gpu.memory_gb,
                    gpu.memory_gb
                );
                if !readings.contains(&reading) {
                    readings.push(reading);
                }
            }
            rewritten.push_str(&out[last..]);
            out = rewritten;
        }
    }
    out
}
