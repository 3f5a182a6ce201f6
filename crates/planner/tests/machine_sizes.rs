//! The vCPUs and memory each VM must have ("32 vCPUs", "128GB RAM", "vCPUs: 8"): the offline
//! planner chooses the cheapest machine type that has them (and no less than the GPUs'
//! default machine), says so, and refuses a size no
//! machine for the GPUs has or a named machine type that is smaller. Before, both were
//! named as not used and the machine type was the GPUs' default.

mod support;

use support::{A100, L4, T4, assert_refused_saying, planned, said};

/// The plan's (VMs, GPUs per VM, GPU, machine type).
fn shape(text: &str) -> (u32, u32, String, String) {
    let request = planned(text).request;
    (
        request.vm_count,
        request.gpu_count,
        request.gpu_type,
        request.machine_type,
    )
}

#[test]
fn the_cheapest_machine_with_the_stated_size_is_chosen() {
    for (text, vms, per_vm, gpu, machine) in [
        // Each was planned on the default machine: g2-standard-4, n1-standard-4.
        (
            "Need 2 L4 VMs with 32 vCPUs and 128GB RAM each",
            2,
            1,
            L4,
            "g2-standard-32",
        ),
        ("Need 2 T4 VMs, 16 cores each", 2, 1, T4, "n1-standard-16"),
        ("Need a T4 VM with 64GB RAM", 1, 1, T4, "n1-highmem-16"),
        ("vCPUs: 8\nRAM: 32 GB\nGPU: T4", 1, 1, T4, "n1-highmem-8"),
        ("T4 VM, 8 CPUs", 1, 1, T4, "n1-standard-8"),
        (
            "Need 4 T4 per VM with 64 GB of system memory",
            1,
            4,
            T4,
            "n1-highmem-16",
        ),
        // Nor less of either than the GPUs' default machine (n1-standard-16 for 4 T4, not
        // n1-highmem-8; n1-standard-4 for one, not n1-standard-1).
        (
            "Need 4 T4 per VM with 52GB of RAM",
            1,
            4,
            T4,
            "n1-standard-16",
        ),
        ("Need a T4 VM with 1 vCPU", 1, 1, T4, "n1-standard-4"),
        // The only A100 machine with 96 vCPUs holds 8 of them: the count follows, said.
        ("Need an A100 VM with 96 vCPUs", 1, 8, A100, "a2-highgpu-8g"),
    ] {
        assert_eq!(
            shape(text),
            (vms, per_vm, gpu.to_owned(), machine.to_owned()),
            "{text:?}"
        );
    }
    let outcome = planned("Need 2 T4 VMs, 16 cores each");
    assert!(
        said(
            &outcome,
            "machine_type n1-standard-16 (16 vCPUs, 60 GB): the cheapest for 1 x nvidia-tesla-t4 with at least 16 vCPUs (\"16 cores\")"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    assert!(
        !said(&outcome, "Not used"),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn a_size_no_machine_has_or_a_smaller_named_machine_is_refused() {
    assert_refused_saying(
        "Need a T4 VM with 200 vCPUs",
        "no machine type for 1 x nvidia-tesla-t4 has at least 200 vCPUs (\"200 vCPUs\"): the largest is n1-highmem-32 (32 vCPUs, 208 GB); ask for less, or for more GPUs per VM",
    );
    assert_refused_saying(
        "Need 2 T4 VMs, n1-standard-4, 16 vCPUs",
        "machine type n1-standard-4 has 4 vCPUs and 15 GB of memory, less than the 16 vCPUs per VM the request asks for (\"16 vCPUs\")",
    );
    // A named machine that has them is planned as named.
    assert_eq!(
        shape("Need 2 T4 VMs, n1-standard-16, 16 vCPUs").3,
        "n1-standard-16"
    );
}

#[test]
fn memory_not_said_of_the_vm_does_not_size_it() {
    // GPU memory chooses the GPU; "memory" alone is named as not read.
    assert_eq!(shape("Need a GPU with 24GB memory").2, L4);
    let unread = planned("Need 1 L4 VM with 24GB memory");
    assert_eq!(unread.request.machine_type, "g2-standard-4");
    assert!(
        said(
            &unread,
            "\"24GB memory\" was not read: for the VM's memory write \"24GB RAM\""
        ),
        "{:?}",
        unread.request.assumptions
    );
    // Threads are the work's, and named as not read.
    let threads = planned("Need 2 VMs with an L4 each; model uses 12 threads");
    assert_eq!(threads.request.machine_type, "g2-standard-4");
    assert!(
        said(
            &threads,
            "Not used: \"12 threads\": threads are not read as vCPUs"
        ),
        "{:?}",
        threads.request.assumptions
    );
    // CUDA cores are the GPU's.
    assert_eq!(
        shape("a T4 VM; the T4 has 2560 CUDA cores").3,
        "n1-standard-4"
    );
}

#[test]
fn another_machines_size_does_not_size_the_vms() {
    // The laptop's 8 cores chose n1-standard-8 for the T4 VM, and the plan said nothing.
    let outcome = planned("Our laptop has 8 cores and 16GB RAM, too slow; need a T4 VM");
    assert_eq!(outcome.request.machine_type, "n1-standard-4");
    assert!(
        said(
            &outcome,
            "\"8 cores\" is said of another machine or of what is in use"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // In a clause of its own, the size asked for is the VMs'.
    let outcome = planned("Need 2 T4 VMs with 16 cores and 64GB RAM, our laptops are too slow");
    assert_eq!(outcome.request.machine_type, "n1-highmem-16");
}
