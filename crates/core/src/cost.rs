//! Cost estimate of a deployment from the catalog's on-demand prices (compute only:
//! the VM and its GPUs; disks and network are not included).

use serde::{Deserialize, Serialize};

use crate::{Catalog, DeploymentRequest};

/// Hours in the month used for monthly figures (Google Cloud's own convention).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Estimated on-demand cost in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// One VM, GPUs included, per hour.
    pub per_vm_hour_usd: f64,
    /// All VMs per hour.
    pub hourly_usd: f64,
    /// All VMs per month of 730 hours.
    pub monthly_usd: f64,
}

impl CostEstimate {
    pub fn from_per_vm_hour(per_vm_hour_usd: f64, vm_count: u32) -> Self {
        let hourly_usd = per_vm_hour_usd * f64::from(vm_count);
        Self {
            per_vm_hour_usd,
            hourly_usd,
            monthly_usd: hourly_usd * HOURS_PER_MONTH,
        }
    }
}

impl std::fmt::Display for CostEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/hour ({} per VM), about {}/month",
            usd(self.hourly_usd, 2),
            usd(self.per_vm_hour_usd, 2),
            usd(self.monthly_usd, 0)
        )
    }
}

/// US dollars with thousands separators and `decimals` digits after the point:
/// `usd(59203.4, 0)` is `$59,203`, `usd(-1234.5, 2)` is `-$1,234.50`. Every cost the bot
/// shows goes through here, so that a five-figure month reads the same everywhere.
pub fn usd(amount: f64, decimals: usize) -> String {
    let fixed = format!("{:.*}", decimals, amount.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + decimals + 3);
    // A negative amount that rounds to zero is shown without a sign.
    if amount < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0') {
        grouped.push('-');
    }
    grouped.push('$');
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if !fraction.is_empty() {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    grouped
}

impl Catalog {
    /// The on-demand price of one VM of `machine_type` with `gpu_count` GPUs of `gpu_id`
    /// per hour; `None` when the catalog does not know the machine or GPU type.
    /// Built-in GPUs are part of the machine price; attached GPUs are added per GPU.
    pub fn per_vm_hour_usd(&self, machine_type: &str, gpu_id: &str, gpu_count: u32) -> Option<f64> {
        let machine = self.machine_type(machine_type)?;
        let gpu = self.gpu(gpu_id)?;
        if machine.builtin_gpu.is_some() {
            Some(machine.usd_per_hour)
        } else {
            Some(machine.usd_per_hour + gpu.usd_per_gpu_hour * f64::from(gpu_count))
        }
    }

    /// Like `estimate`, but `None` when the request names a machine or GPU type the
    /// catalog does not know.
    pub fn try_estimate(&self, request: &DeploymentRequest) -> Option<CostEstimate> {
        let per_vm =
            self.per_vm_hour_usd(&request.machine_type, &request.gpu_type, request.gpu_count)?;
        Some(CostEstimate::from_per_vm_hour(per_vm, request.vm_count))
    }

    /// The estimate for a request. A validated request always names known types; for one
    /// that does not, the unknown parts are counted as free (use `try_estimate` to tell).
    pub fn estimate(&self, request: &DeploymentRequest) -> CostEstimate {
        self.try_estimate(request).unwrap_or_else(|| {
            let machine = self
                .machine_type(&request.machine_type)
                .map_or(0.0, |m| m.usd_per_hour);
            CostEstimate::from_per_vm_hour(machine, request.vm_count)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_by_thousands() {
        assert_eq!(usd(59203.4, 0), "$59,203");
        assert_eq!(usd(1234567.891, 2), "$1,234,567.89");
        assert_eq!(usd(999.999, 2), "$1,000.00");
        assert_eq!(usd(0.0, 2), "$0.00");
        assert_eq!(usd(12.5, 2), "$12.50");
        assert_eq!(usd(-1234.5, 2), "-$1,234.50");
        assert_eq!(usd(-0.001, 2), "$0.00");
    }

    #[test]
    fn an_estimate_prints_with_separators() {
        let estimate = CostEstimate::from_per_vm_hour(40.55, 100);
        assert_eq!(
            estimate.to_string(),
            "$4,055.00/hour ($40.55 per VM), about $2,960,150/month"
        );
    }
}
