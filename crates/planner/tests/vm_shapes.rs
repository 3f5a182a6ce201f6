//! How the GPUs asked for are placed on VMs: "a GPU VM" is one VM, "on the same VM" one
//! VM, "one VM per GPU" one GPU in each, a multiplier after a bracketed GPU ("GPU VM (T4)
//! x3") counts, "as few VMs as possible" packs the GPUs, and a GPU written with its form
//! factor by dashes ("A100-SXM4-40GB") is read.

mod support;

use support::{A100, A100_80, L4, T4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn a_gpu_vm_is_one_vm_and_the_same_vm_is_one_too() {
    assert_plans(&[
        // Refused as two GPU-per-VM counts: "a GPU VM" was read as a VM with one GPU.
        (
            "Could I have a GPU VM with 2 T4s and 200 GB disk in us-west1?",
            1,
            2,
            T4,
        ),
        ("I need a GPU VM in us-west1 with 4 L4 GPUs", 1, 4, L4),
        // Planned as 2 VMs with one GPU each.
        (
            "Need 2 GPUs (T4) on the same VM, us-west1, for 72 hours",
            1,
            2,
            T4,
        ),
        ("put 4 L4s in the same machine", 1, 4, L4),
        // Unchanged: a count before "GPU VM" counts its GPUs; "the same machine type" is
        // no VM.
        ("a 4 GPU VM with T4s", 1, 4, T4),
        ("2 L4s on the same machine type as before", 2, 1, L4),
    ]);
    let same = planned("Need 2 GPUs (T4) on the same VM");
    assert!(
        said(&same, "\"on the same VM\" read as on 1 VM"),
        "{:?}",
        same.request.assumptions
    );
}

#[test]
fn one_vm_per_gpu_is_one_gpu_per_vm() {
    // Each was planned as one VM holding every GPU.
    assert_plans(&[
        ("Need one VM per GPU, 4 T4 GPUs total", 4, 1, T4),
        ("Need 4 T4 GPUs, one VM per GPU", 4, 1, T4),
        ("Need 4 T4 GPUs, each GPU on its own VM", 4, 1, T4),
        ("4 L4s, a separate node for each GPU", 4, 1, L4),
    ]);
    let outcome = planned("Need 4 T4 GPUs, one VM per GPU");
    assert!(
        said(&outcome, "\"one VM per GPU\" read as 1 GPU per VM"),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn a_multiplier_after_a_gpu_in_brackets_counts() {
    // Each dropped its "x3" without a word and planned one VM.
    assert_plans(&[
        ("Need GPU VM (T4) x3 in the Netherlands", 3, 1, T4),
        ("Need VM (NVIDIA T4) x3", 3, 1, T4),
        ("Need (T4) x3", 3, 1, T4),
        ("Need GPU VM x3 (T4)", 3, 1, T4),
        // "graphics" stood between the count and its noun: the 2 was dropped.
        ("Need 2 graphics cards (T4) in Iowa", 2, 1, T4),
    ]);
}

#[test]
fn as_few_vms_as_possible_packs_the_gpus() {
    // Each was split one GPU per VM, the opposite of what it asks.
    assert_plans(&[
        ("Need 8 T4s, as few VMs as possible", 2, 4, T4),
        ("Need 16 GPUs, A100, fewest nodes", 2, 8, A100),
        ("Need 6 T4s on as few machines as possible", 3, 2, T4),
        ("Need 8 L4 GPUs, minimum number of VMs", 1, 8, L4),
        // Unchanged: the fewest GPUs per VM otherwise.
        ("Need 8 T4s, as many VMs as possible", 8, 1, T4),
    ]);
    let packed = planned("Need 8 T4s, as few VMs as possible");
    assert!(
        said(
            &packed,
            "\"as few VMs as possible\" read as the most GPUs per VM that nvidia-tesla-t4 allows for 8 in total"
        ),
        "{:?}",
        packed.request.assumptions
    );
}

#[test]
fn a_gpu_written_with_its_form_factor_and_memory_by_dashes_is_read() {
    // "No request for VMs or GPUs was found": the dashed name was no word the planner knew.
    assert_plans(&[
        ("Need A100-SXM4-40GB x 2", 2, 1, A100),
        ("2x A100-SXM4-80GB in us-central1", 2, 1, A100_80),
    ]);
    // A GPU-shaped name before a VM noun is named as not in the catalog.
    assert_refused_saying("Need an H200 node", "GPU h200 is not in the catalog");
}

#[test]
fn one_vm_of_each_of_two_gpus_named_for_comparison_asks_for_both() {
    // "T4 vs L4" made the L4 a comparison, and one T4 VM was planned.
    assert_refused_saying(
        "We want to benchmark T4 vs L4. Please give us one VM of each in us-central1.",
        "\"of each\" asks for t4 and l4 at once; a deployment has one GPU type",
    );
    // Without "of each" the comparison stands.
    assert_plans(&[(
        "2 VMs with T4 instead of L4, each of them in us-west1",
        2,
        1,
        T4,
    )]);
}

#[test]
fn the_only_gpu_named_as_not_wanted_is_not_planned() {
    // Each planned the GPU it names as not wanted.
    for text in [
        "Need a GPU with more memory than a T4",
        "Need a GPU faster than T4",
        "Need 2 VMs, not A100",
        "A100 is overkill, 2 VMs please",
    ] {
        assert_refused_saying(
            text,
            "is named as the GPU not wanted, and no other is named",
        );
    }
    // "Similar to" asks for one like it.
    assert_plans(&[("something similar to a T4, 2 VMs", 2, 1, T4)]);
}

#[test]
fn both_vms_are_two_and_a_count_after_a_colon_has_its_own_per_vm() {
    assert_plans(&[
        // Planned at 1 VM: "both" was no count.
        ("Need both VMs to have a T4, us-west1", 2, 1, T4),
        ("both machines need A100s in us-east1", 2, 1, A100),
        // Planned 1 T4 per VM: "both with" was not "each with".
        ("Need 2 VMs, both with 2 T4", 2, 2, T4),
        // Refused as two GPU-per-VM counts: "per VM" after the 2 was read as the 4's too.
        ("Need 4 T4 GPUs: 2 per VM", 2, 2, T4),
        ("8 A100 GPUs 4 per node", 2, 4, A100),
    ]);
    // "both" before GPUs counts nothing.
    assert_refused_saying(
        "both T4 and L4 are fine",
        "the request names more than one gpu_type",
    );
}

#[test]
fn of_a_preferred_gpu_and_its_fallback_the_preferred_is_planned() {
    // Each was refused as naming two GPU types.
    assert_plans(&[
        ("Need 3 GPU VMs, T4 preferred but L4 is fine too", 3, 1, T4),
        ("Need 2 VMs, preferably L4, T4 also ok", 2, 1, L4),
        ("2 VMs with A100 if possible, otherwise V100", 2, 1, A100),
        ("need 2 VMs: L4 (or T4 if L4 is unavailable)", 2, 1, L4),
        ("need 2 VMs: L4 (or T4 if L4 is not available)", 2, 1, L4),
    ]);
    let outcome = planned("Need 3 GPU VMs, T4 preferred but L4 is fine too");
    assert!(
        said(
            &outcome,
            "\"t4\" read as the GPU preferred and \"l4\" as a fallback, which is not planned"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // A preference over both, or a choice left open, is refused as before.
    for text in [
        "need 2 GPUs, preferably T4 or L4, us-west1",
        "Need an A100 VM, or an H100 if available",
        "T4 or L4, 2 VMs",
        "A100 preferred, H100 preferred",
    ] {
        assert_refused_saying(text, "the request names more than one gpu_type");
    }
}

#[test]
fn a_shared_vm_is_one_vm() {
    // The 4 L4s were spread over 4 VMs: "shared" stood between "a" and the VM.
    assert_plans(&[
        (
            "Our team of 3 needs a shared GPU box: 4 L4s, us-central1",
            1,
            4,
            L4,
        ),
        ("Need a shared VM: 4 L4s", 1, 4, L4),
    ]);
}

#[test]
fn n_of_them_after_a_vm_named_with_an_article_counts_them() {
    // Refused as two VM counts: "a T4 VM" was read as 1.
    assert_plans(&[
        ("Need a T4 VM, 2 of them", 2, 1, T4),
        ("Need a T4 VM for training, 3 of them please", 3, 1, T4),
    ]);
    // A count of its own beside it is still two counts.
    assert_refused_saying(
        "Need 2 T4 VMs and a T4 VM, 3 of them",
        "the request names more than one vm_count",
    );
}
