//! A plain-text description of the catalog for a model's system prompt, generated from
//! the data so that the prompt cannot drift from what the validator accepts.

use std::fmt::Write;

use crate::catalog::{Catalog, GpuAttachment};

impl Catalog {
    /// One block per GPU type (id, memory, how it reaches a VM, counts, machine types,
    /// price, zones), then the regions, disk bounds and the price date.
    pub fn prompt_summary(&self) -> String {
        let mut text = String::new();
        for gpu in self.gpus() {
            let _ = writeln!(text, "- {} ({}, {} GB)", gpu.id, gpu.name, gpu.memory_gb);
            match &gpu.attachment {
                GpuAttachment::Attached { family, counts } => {
                    let limits: Vec<String> = counts
                        .iter()
                        .map(|c| match gpu.max_vcpus_for(*c) {
                            Some(max) => format!("{c} (up to {max} vCPUs)"),
                            None => c.to_string(),
                        })
                        .collect();
                    let _ = writeln!(
                        text,
                        "  attached to {family}-* machine types; GPUs per VM: {}; ${:.2} per GPU-hour plus the machine",
                        limits.join(", "),
                        gpu.usd_per_gpu_hour
                    );
                }
                GpuAttachment::BuiltIn => {
                    let machines: Vec<String> = self
                        .machine_types_with_builtin(&gpu.id)
                        .iter()
                        .map(|m| {
                            let count = m.builtin_gpu.as_ref().map_or(0, |(_, c)| *c);
                            format!("{} ({count} GPU, ${:.2}/h)", m.name, m.usd_per_hour)
                        })
                        .collect();
                    let _ = writeln!(text, "  built into: {}", machines.join(", "));
                }
            }
            let _ = writeln!(text, "  zones: {}", gpu.zones.join(", "));
        }
        let n1: Vec<String> = self
            .machine_types()
            .iter()
            .filter(|m| m.builtin_gpu.is_none())
            .map(|m| format!("{} ({} vCPU, ${:.4}/h)", m.name, m.vcpus, m.usd_per_hour))
            .collect();
        let _ = writeln!(text, "Machine types for attached GPUs: {}", n1.join(", "));
        let _ = writeln!(text, "Regions: {}", self.regions().join(", "));
        let disk = self.boot_disk();
        let _ = writeln!(
            text,
            "Boot disk: {}-{} GB, default {} GB. Prices: on-demand USD as of {}.",
            disk.min_gb,
            disk.max_gb,
            disk.default_gb,
            self.prices_as_of()
        );
        text
    }
}
