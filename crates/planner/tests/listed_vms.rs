//! VMs listed one by one, each for its own purpose ("a T4 VM for me and one for Bob"): the
//! items add up, and the plan says so. A count followed by its breakdown ("2 T4 VMs: 1 for
//! training and 1 for inference") is one count when the parts add up to it, and refused as
//! two when they do not.

mod support;

use support::{A100, T4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn vms_listed_each_for_its_purpose_add_up() {
    // Each was planned at 1 VM (or refused as two VM counts, for 2 + 1): the items were
    // read as the same count and merged.
    assert_plans(&[
        ("a T4 VM for me and one for Bob", 2, 1, T4),
        ("one T4 VM for training and one for inference", 2, 1, T4),
        ("1 VM for training and 1 for inference, T4", 2, 1, T4),
        ("a T4 VM for training and a T4 VM for inference", 2, 1, T4),
        (
            "a T4 VM for alice, a T4 VM for bob and a T4 VM for carol",
            3,
            1,
            T4,
        ),
        ("2 T4 VMs for the team and 1 T4 VM for me", 3, 1, T4),
        (
            "1 T4 VM for dev, 1 T4 VM for staging, 2 T4 VMs for prod",
            4,
            1,
            T4,
        ),
        (
            "one VM with 2 T4 for training and one VM with 2 T4 for serving",
            2,
            2,
            T4,
        ),
    ]);
    let listed = planned("2 T4 VMs for the team and 1 T4 VM for me");
    assert!(
        said(
            &listed,
            "\"2 T4 VMs for the team and 1 T4 VM for me\" read as 3 VMs in all (2 + 1)"
        ),
        "{:?}",
        listed.request.assumptions
    );
}

#[test]
fn what_is_not_a_list_of_vms_is_read_as_before() {
    assert_plans(&[
        // A time, a share and a restatement are not items.
        ("a T4 VM for 3 days and 2 GPUs per VM", 1, 2, T4),
        ("3 T4 VMs (one for each of alice, bob and carol)", 3, 1, T4),
        (
            "Need 2 T4 VMs\nPlease create 2 T4 VMs in us-west1",
            2,
            1,
            T4,
        ),
    ]);
}

#[test]
fn a_breakdown_of_a_count_is_that_count_or_refused_when_it_does_not_add_up() {
    // "VMs: 1" was read as a second VM count and the request refused.
    assert_plans(&[
        ("2 T4 VMs: 1 for training and 1 for inference", 2, 1, T4),
        ("2 T4 VMs, one for training and one for inference", 2, 1, T4),
    ]);
    assert_refused_saying(
        "2 T4 VMs, one for training and two for inference",
        "\"one for training and two for inference\", \"2 t4 vms\"",
    );
}

#[test]
fn gpus_listed_for_their_purposes_add_up_and_a_breakdown_is_checked() {
    // Planned as 2 GPUs: the items' counts were one count of 2.
    assert_plans(&[
        (
            "Need GPUs: 2 for training (A100) and 2 for serving (A100)",
            4,
            1,
            A100,
        ),
        ("GPUs: 2 for training and 2 for inference, T4", 4, 1, T4),
        // Refused as two GPU counts: the breakdown was read as a count of its own.
        (
            "Need 4 A100 GPUs: 2 for training and 2 for serving",
            4,
            1,
            A100,
        ),
    ]);
    let listed = planned("Need GPUs: 2 for training (A100) and 2 for serving (A100)");
    assert!(
        said(
            &listed,
            "\"2 for training (A100) and 2 for serving\" read as 4 GPUs in all (2 + 2)"
        ),
        "{:?}",
        listed.request.assumptions
    );
    assert_refused_saying(
        "Need 4 A100 GPUs: 2 for training and 1 for serving",
        "the request names more than one total GPU count",
    );
}

#[test]
fn gpus_named_each_for_its_purpose_add_up() {
    // Each was planned at 1 VM without a word: the GPU named twice was one GPU.
    assert_plans(&[
        ("T4 for me and T4 for Bob", 2, 1, T4),
        ("a T4 for me and a T4 for Bob", 2, 1, T4),
        ("T4 for training, T4 for inference", 2, 1, T4),
        (
            "an A100 for Alice, an A100 for Bob and an A100 for Carol",
            3,
            1,
            A100,
        ),
        // Planned at 1: "one for Bob" was no count.
        ("one T4 for me and one for Bob", 2, 1, T4),
        // One GPU named for a purpose is one GPU, as before.
        ("T4 for me", 1, 1, T4),
    ]);
    let listed = planned("T4 for me and T4 for Bob");
    assert!(
        said(
            &listed,
            "\"T4 for me and T4 for Bob\" read as 2 GPUs in all (1 + 1)"
        ),
        "{:?}",
        listed.request.assumptions
    );
    // Two GPUs are two GPU types, refused as before.
    assert_refused_saying(
        "T4 for me and L4 for Bob",
        "the request names more than one gpu_type",
    );
}
