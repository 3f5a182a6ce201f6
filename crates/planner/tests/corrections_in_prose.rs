//! Requests that correct themselves ("2 T4 VMs, no wait, 3", "4 L4 GPUs, sorry, I meant 2",
//! "us-west1, actually us-east1"): the correction replaces what it names and the plan says
//! so; a marker that corrects nothing ("sorry for the late request") changes nothing; a
//! correction that cannot be placed is refused with what to write.

mod support;

use promptops_planner::{PlanError, PlanInput, PlanOutcome};
use support::{
    H100, L4, T4, assert_plans, assert_refused_saying, plan_input, planned, refusal, said,
};

#[test]
fn a_bare_number_after_a_marker_corrects_the_count_named_before_it() {
    // Each was planned with the first count, silently or with "does not say what 3
    // counts; it was not read".
    assert_plans(&[
        ("2 T4 VMs — no wait, 3", 3, 1, T4),
        (
            "I need 2 T4 VMs in us-west1. Actually, make that 3.",
            3,
            1,
            T4,
        ),
        ("Please give me 4 L4 GPUs, sorry, I meant 2.", 2, 1, L4),
        ("I need 3 T4 VMs. Make it 4.", 4, 1, T4),
        ("Need 2 L4 VMs (actually 3) in us-east4", 3, 1, L4),
        // On an issue form's line: refused, as the 2 no longer stood alone under its label.
        (
            "### Number of VMs\n\n2 (actually 3)\n\n### GPU type\n\nT4",
            3,
            1,
            T4,
        ),
        ("VMs: 2 (sorry, 4)\nGPU: T4", 4, 1, T4),
        ("need 4 L4 VMs, or rather 3", 3, 1, L4),
        (
            "Our current setup is 4 T4 VMs, actually 2 would do.",
            2,
            1,
            T4,
        ),
        // "instead of 5" says which count: the total, not the VMs.
        (
            "Need 5 T4 GPUs in us-west1. Edit: 6 instead of 5.",
            6,
            1,
            T4,
        ),
    ]);
    let corrected = planned("Please give me 4 L4 GPUs, sorry, I meant 2.");
    assert!(
        said(
            &corrected,
            "\"sorry, I meant 2\" is read as a correction of \"4 l4 gpus\""
        ),
        "{:?}",
        corrected.request.assumptions
    );
}

#[test]
fn a_correction_that_names_its_value_replaces_only_what_it_names() {
    // Each was refused as naming two values of one field.
    assert_plans(&[
        ("2 T4 VMs, correction: 3 T4 VMs", 3, 1, T4),
        // An issue edited with an update below it.
        (
            "We need 2 T4 VMs in us-west1.\n\nUpdate: now we need 4 T4 VMs.",
            4,
            1,
            T4,
        ),
        ("Need 2 T4 VMs. Update: we now need 4", 4, 1, T4),
        ("We need 4 VMs with T4, scratch that, 2 VMs", 2, 1, T4),
        // The VM count stays; only the GPUs per VM change.
        (
            "2 VMs with 2 T4 each. Actually one GPU per VM is enough.",
            2,
            1,
            T4,
        ),
        ("1 VM with 4 T4s, no wait, 2 VMs with 2 T4s each", 2, 2, T4),
        ("An A100 VM, actually an H100", 1, 1, H100),
    ]);
    let region = planned("T4 in us-west1, actually us-east1 is better");
    assert_eq!(region.request.region(), "us-east1", "{:?}", region.request);
    assert!(
        said(
            &region,
            "\"actually us-east1 is better\" is read as a correction of \"us-west1\""
        ),
        "{:?}",
        region.request.assumptions
    );
    let both = planned("1 VM with 4 T4s, no wait, 2 VMs with 2 T4s each");
    assert!(
        said(&both, "correction of \"1 vm\" and \"4 t4s\""),
        "{:?}",
        both.request.assumptions
    );
}

#[test]
fn a_marker_followed_by_no_value_changes_nothing() {
    assert_plans(&[
        (
            "Sorry for the late request! We need 2 T4 VMs in us-west1 for 3 days.",
            2,
            1,
            T4,
        ),
        ("I need 2 T4 VMs. Make it fast please.", 2, 1, T4),
        ("2 VMs with T4, I mean if that's possible", 2, 1, T4),
        (
            "Update: the team grew, we need 4 T4 VMs now (was 2).",
            4,
            1,
            T4,
        ),
        ("Actually, we need 3 T4 VMs in us-west1.", 3, 1, T4),
        // A number after a marker that names nothing is no correction: it stays in the
        // text and is read with it.
        (
            "I need 2 T4 VMs in us-west1. Sorry, 2 quick questions: can they have internet access?",
            2,
            1,
            T4,
        ),
        (
            "Need 2 T4 VMs in us-west1. Update: 3 people from the data team will also log in.",
            2,
            1,
            T4,
        ),
        ("3 T4 VMs, actually 2024 budget approved", 3, 1, T4),
    ]);
    // Nothing was corrected, so nothing is said about a correction.
    let first = planned("Actually, we need 3 T4 VMs in us-west1.");
    assert!(
        !said(&first, "correction"),
        "{:?}",
        first.request.assumptions
    );
    // "actually have" states what exists, not what is wanted: still two counts.
    assert_refused_saying(
        "I need 2 T4 VMs in us-west1, we actually have 3 VMs there already",
        "more than one vm_count",
    );
}

#[test]
fn a_correction_that_cannot_be_placed_is_refused_with_what_to_write() {
    // Planned as 2 x 2 before, the "actually 3" dropped.
    let several = refusal("2 VMs with 2 A100s each, actually 3").to_string();
    assert!(
        several.contains("\"actually 3\" corrects a count, but the request names several")
            && several.contains("\"3 VMs\" or \"3 GPUs per VM\""),
        "{several}"
    );
    assert_refused_saying(
        "Need 5 T4 GPUs; edit: 6 instead of 4",
        "replaces 4, but the request names no count of 4",
    );
    // With nothing to correct, a bare number is what it was: a count of nothing said.
    assert_refused_saying(
        "T4 in us-west1. Actually make that 3.",
        "does not say what 3 counts",
    );
}

fn comment_on(body: &str, instructions: &str) -> Result<PlanOutcome, PlanError> {
    plan_input(&PlanInput {
        title: "GPUs".to_owned(),
        body: body.to_owned(),
        instructions: instructions.to_owned(),
        current: None,
    })
}

#[test]
fn a_bare_number_in_a_comment_corrects_the_issues_count() {
    // Refused as a count of nothing ("does not say what 3 counts").
    let three = comment_on("We need 2 T4 VMs in us-west1", "actually make it 3")
        .expect("planned")
        .request;
    assert_eq!((three.vm_count, three.gpu_count), (3, 1));
    let gpus = comment_on("Please give me 4 L4 GPUs", "sorry, I meant 2")
        .expect("planned")
        .request;
    assert_eq!(gpus.vm_count * gpus.gpu_count, 2);
    // An issue that counts two kinds leaves the number unplaced.
    let err = comment_on("2 VMs with 2 T4 each", "make it 3")
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("\"make it 3\" corrects a count, but the request names several"),
        "{err}"
    );
}
