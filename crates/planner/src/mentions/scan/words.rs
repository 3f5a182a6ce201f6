//! What single words mean to the scanner: disk units, and the nouns and fillers that a
//! count may stand before.

pub(super) fn disk_gb(number: u32, unit: &str) -> Option<u32> {
    match unit {
        "gb" | "gib" | "g" | "gigabytes" => Some(number),
        "tb" | "t" | "terabytes" => number.checked_mul(1000),
        "tib" => number.checked_mul(1024),
        _ => None,
    }
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
            | "new"
            | "identical"
            | "separate"
            | "dedicated"
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
