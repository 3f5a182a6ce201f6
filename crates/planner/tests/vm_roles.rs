//! VMs asked for in roles ("1 master + 3 workers", "a head node and 4 worker nodes"): all
//! VMs of a deployment are alike, so VMs in different roles are refused naming each group;
//! a count broken down by roles is that count; a role alone is a count of VMs.

mod support;

use support::{A100, T4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn vms_in_different_roles_are_refused_naming_each_group() {
    // Each planned the workers alone, without a word about the other VMs.
    assert_refused_saying(
        "A100 cluster: 1 master + 3 workers, 8 GPUs per worker",
        "\"1 master\" and \"3 workers\" are VMs in different roles, but all VMs of a deployment are alike (one machine type, the same GPUs); ask for the GPU VMs alone (e.g. \"3 VMs\"), or for every VM with the same GPUs (e.g. \"4 VMs\")",
    );
    assert_refused_saying(
        "3 T4 workers and 1 coordinator in us-west1",
        "\"3 T4 workers\" and \"1 coordinator\" are VMs in different roles",
    );
    assert_refused_saying(
        "1 head node and 4 worker nodes with A100s",
        "\"1 head node\" and \"4 worker nodes\" are VMs in different roles",
    );
    assert_refused_saying(
        "Need 2 GPU nodes and a CPU node, T4",
        "\"2 GPU nodes\" and \"a CPU node\" are VMs in different roles",
    );
    assert_refused_saying(
        "Need 2 T4 VMs and one storage server",
        "e.g. \"2 VMs\"), or for every VM with the same GPUs (e.g. \"3 VMs\")",
    );
    assert_refused_saying(
        "Need a coordinator and 4 workers with L4 GPUs",
        "\"a coordinator\" and \"4 workers\" are VMs in different roles",
    );
}

#[test]
fn a_count_broken_down_by_roles_is_that_count() {
    // Refused before as naming three VM counts (3, 1 and 2).
    assert_plans(&[
        (
            "Need 3 nodes: 1 head node and 2 workers, all with A100s",
            3,
            1,
            A100,
        ),
        ("We need 4 T4 VMs: 1 master and 3 workers", 4, 1, T4),
        // Refused as two VM counts ("vms … 1 of them").
        ("need 4 T4 VMs, 1 of them as the master", 4, 1, T4),
        ("need four T4 VMs, one of them as the master", 4, 1, T4),
        // Without a count before, "4 of them" is the count.
        ("Need T4 VMs, 4 of them for training", 4, 1, T4),
    ]);
    let outcome = planned("We need 4 T4 VMs: 1 master and 3 workers");
    assert!(
        said(
            &outcome,
            "\"1 master and 3 workers\" read as the roles of the 4 VMs; all VMs of a deployment have the same GPUs"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // A breakdown that does not add up is refused as different roles.
    assert_refused_saying(
        "We need 4 T4 VMs: 1 master and 2 workers",
        "are VMs in different roles",
    );
}

#[test]
fn a_role_alone_is_a_count_of_vms() {
    assert_plans(&[
        // Planned as 1 VM: "head" between the count and its noun hid the count.
        ("2 head nodes with 2 T4 each", 2, 2, T4),
        ("a master node with 4 A100s", 1, 4, A100),
        // Planned as 1 VM without a word.
        ("need 2 db servers with T4", 2, 1, T4),
    ]);
}

#[test]
fn a_role_word_that_names_no_vms_is_no_role() {
    assert_plans(&[
        ("I'm a master student and need 2 T4 VMs", 2, 1, T4),
        ("the head of ML needs 2 T4 VMs in us-west1", 2, 1, T4),
        ("our scheduler service needs 3 T4 VMs", 3, 1, T4),
        // People, not VMs: a manager needs a VM noun to be a role.
        ("A T4 VM for 1 manager and 3 engineers", 1, 1, T4),
    ]);
}

#[test]
fn a_role_named_apart_from_the_vms_asked_for_is_context() {
    assert_plans(&[(
        "Need 2 T4 VMs; the app talks to 1 database server we already have",
        2,
        1,
        T4,
    )]);
    // Listed on lines of their own, they are listed together.
    assert_refused_saying(
        "- 1 head node\n- 4 worker nodes with A100s",
        "are VMs in different roles",
    );
}
