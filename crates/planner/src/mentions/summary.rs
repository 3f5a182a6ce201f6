//! The stated values as lines for the model's user message.

use super::{Excluded, Mentioned, Mentions};

impl Mentions {
    /// One line per stated value, in the user's words and as a field value, for the model:
    /// `vm_count 5 ("5 vms")`.
    pub fn summary(&self) -> Vec<String> {
        fn numbers(list: &[Mentioned<u32>]) -> Vec<(String, &str)> {
            list.iter()
                .map(|m| {
                    let value = match m.upper {
                        Some(upper) => format!("from {} to {upper}", m.value),
                        None => m.value.to_string(),
                    };
                    (value, m.written.as_str())
                })
                .collect()
        }
        fn names(list: &[Mentioned<String>]) -> Vec<(String, &str)> {
            list.iter()
                .map(|m| (m.value.clone(), m.written.as_str()))
                .collect()
        }
        let groups = [
            ("vm_count", numbers(&self.vm_count)),
            ("gpu_count (per VM)", numbers(&self.gpus_per_vm)),
            (
                "vm_count x gpu_count (GPUs in total)",
                numbers(&self.total_gpus),
            ),
            ("gpu_type", names(&self.gpu_type)),
            ("machine_type", names(&self.machine_type)),
            ("zone", names(&self.zone)),
            ("region", names(&self.region)),
            (
                "region",
                self.area
                    .iter()
                    .map(|m| {
                        let value = format!("one of {}", m.value.regions.join(", "));
                        (value, m.written.as_str())
                    })
                    .collect(),
            ),
            (
                "gpu_type",
                self.gpu_requirement
                    .iter()
                    .map(|m| {
                        let value = format!(
                            "one of {} (the cheapest that fits is preferred)",
                            m.value.satisfying.join(", ")
                        );
                        (value, m.written.as_str())
                    })
                    .collect(),
            ),
            ("not in", self.excluded_lines()),
            ("boot_disk_size_gb", numbers(&self.boot_disk_size_gb)),
            ("estimated cost at most", self.budget_lines()),
            ("machine_type with at least", self.machine_size_lines()),
            ("name", names(&self.name)),
        ];
        groups
            .into_iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(label, items)| {
                items
                    .into_iter()
                    .map(|(value, written)| format!("{label} {value} (\"{written}\")"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .collect()
    }
}

impl Mentions {
    /// The budgets, each as its amount per period and its words.
    fn budget_lines(&self) -> Vec<(String, &str)> {
        self.budget
            .iter()
            .map(|m| (m.value.to_string(), m.written.as_str()))
            .collect()
    }

    /// The size each VM must have, and its words.
    fn machine_size_lines(&self) -> Vec<(String, &str)> {
        self.machine_size
            .iter()
            .map(|m| (format!("{} per VM", m.value), m.written.as_str()))
            .collect()
    }

    /// The places ruled out, each as what it covers and the words that ruled it out.
    fn excluded_lines(&self) -> Vec<(String, &str)> {
        self.excluded
            .iter()
            .map(|m| {
                let value = match &m.value {
                    Excluded::Regions(regions) if regions.len() == 1 => {
                        format!("region {}", regions[0])
                    }
                    Excluded::Regions(regions) => format!("any of regions {}", regions.join(", ")),
                    Excluded::Zone(zone) => format!("zone {zone}"),
                };
                (value, m.written.as_str())
            })
            .collect()
    }
}
