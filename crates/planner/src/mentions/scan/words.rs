//! What single words mean to the scanner: disk units, and the nouns and fillers that a
//! count may stand before.

pub(super) fn disk_gb(number: u32, unit: &str) -> Option<u32> {
    number.checked_mul(gb_per_unit(unit)?)
}

/// Whether `unit` is a unit of size ("gb", "tb", "gigs").
pub(super) fn is_size_unit(unit: &str) -> bool {
    gb_per_unit(unit).is_some()
}

/// Whether `unit` is a gigabyte ("gb", "g", "gigs"): the unit GPU memory is written in.
pub(super) fn is_gigabytes(unit: &str) -> bool {
    gb_per_unit(unit) == Some(1)
}

fn gb_per_unit(unit: &str) -> Option<u32> {
    match unit {
        // "500 gigs of disk" was passed over for the default 100 GB.
        "gb" | "gbs" | "gib" | "g" | "gig" | "gigs" | "gigabyte" | "gigabytes" | "gibibytes" => {
            Some(1)
        }
        "tb" | "tbs" | "t" | "terabyte" | "terabytes" => Some(1000),
        "tib" | "tebibytes" => Some(1024),
        _ => None,
    }
}

/// What a disk size written with a decimal point comes to ("0.5 TB", "1.5tb"): `None` when
/// `unit` is no size unit or the number is not one, `Some(None)` when it is no whole
/// number of GB ("20.5 GB"), which a disk cannot have.
pub(super) fn decimal_disk_gb(number: &str, unit: &str) -> Option<Option<u32>> {
    let per_unit = u64::from(gb_per_unit(unit)?);
    let (whole, fraction) = number.split_once('.')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || whole.len() > 9
        || fraction.len() > 6
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let scale = 10u64.pow(u32::try_from(fraction.len()).ok()?);
    let tenths_and_so_on: u64 = fraction.parse().ok()?;
    let scaled = (whole * scale + tenths_and_so_on) * per_unit;
    if !scaled.is_multiple_of(scale) {
        return Some(None);
    }
    Some(Some(u32::try_from(scaled / scale).ok()?))
}

/// A number glued to its unit with a decimal point ("0.5tb"): the number and the unit.
pub(super) fn split_decimal_size(word: &str) -> Option<(&str, &str)> {
    let number = word
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, unit) = word.split_at(number);
    (number.contains('.') && !unit.is_empty()).then_some((number, unit))
}

pub(super) fn is_disk_word(word: &str) -> bool {
    matches!(
        word,
        "disk"
            | "disks"
            | "storage"
            | "ssd"
            | "drive"
            | "volume"
            | "boot"
            | "pd-ssd"
            | "pd-balanced"
    )
}

/// Words for where VMs run: "the cheapest region", "lowest-cost zone".
pub(super) fn is_place_noun(word: &str) -> bool {
    matches!(
        word,
        "region"
            | "regions"
            | "zone"
            | "zones"
            | "location"
            | "locations"
            | "datacenter"
            | "datacenters"
    )
}

pub(super) fn is_memory_word(word: &str) -> bool {
    matches!(word, "ram" | "memory" | "mem" | "vram")
}

pub(in crate::mentions) fn is_vm_noun(word: &str) -> bool {
    matches!(
        word,
        "vm" | "vms"
            | "machine"
            | "machines"
            | "instance"
            | "instances"
            | "node"
            | "nodes"
            | "server"
            | "servers"
            | "host"
            | "hosts"
            | "box"
            | "boxes"
            | "replica"
            | "replicas"
            | "worker"
            | "workers"
    )
}

pub(super) fn is_gpu_noun(word: &str) -> bool {
    matches!(
        word,
        "gpu" | "gpus" | "card" | "cards" | "accelerator" | "accelerators"
    )
}

/// Words that may sit between a count and its noun without changing what is counted.
/// Relative words ("more", "another", "fewer") are deliberately absent: "2 more VMs" is not
/// a request for 2 VMs.
pub(super) fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "x" | "of"
            // "2 graphics cards (T4)": the kind of card, not what is counted.
            | "graphics"
            | "graphic"
            | "video"
            // "4 pcs T4", "4 units of A100".
            | "pcs"
            | "pc"
            | "pieces"
            | "units"
            | "new"
            | "identical"
            | "separate"
            | "dedicated"
            // "a shared GPU box: 4 L4s" is one VM (the 4 L4s were spread over 4 VMs).
            | "shared"
            | "private"
            | "single"
            | "large"
            | "small"
            | "big"
            | "virtual"
            | "nvidia"
            | "tesla"
            | "gpu-enabled"
            | "gpu-backed"
            | "gpu-powered"
            | "compute"
            | "cloud"
            | "gce"
            | "total"
            | "same"
            | "linux"
            | "ubuntu"
            | "spot"
            | "on-demand"
            | "preemptible"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_disk_sizes() {
        assert_eq!(decimal_disk_gb("0.5", "tb"), Some(Some(500)));
        assert_eq!(decimal_disk_gb(".5", "tb"), Some(Some(500)));
        assert_eq!(decimal_disk_gb("0.5", "tib"), Some(Some(512)));
        assert_eq!(decimal_disk_gb("20.5", "gb"), Some(None));
        assert_eq!(decimal_disk_gb("0.0001", "tb"), Some(None));
        assert_eq!(decimal_disk_gb("1.5", "vms"), None);
        assert_eq!(decimal_disk_gb("200", "gb"), None);
        assert_eq!(split_decimal_size("0.5tb"), Some(("0.5", "tb")));
        assert_eq!(split_decimal_size("200gb"), None);
    }
}
