//! Words that put a GPU, a place or a count outside the request: a GPU ruled out ("anything
//! but A100", "no A100 please"), and what an earlier run used ("the last run OOM'd on a
//! single T4", "previously we had 4 V100s").

mod support;

use support::{L4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn a_gpu_ruled_out_is_never_planned() {
    // Each planned the A100 it rules out.
    for text in [
        "Need 2 GPU VMs, anything but A100",
        "Need 2 GPU VMs, no A100 please",
        "Need 2 GPU VMs, any GPU except the A100",
        "Need 2 VMs without A100s",
    ] {
        assert_refused_saying(
            text,
            "is named as the GPU not wanted, and no other is named",
        );
    }
    // Refused as two GPU types: the one ruled out is not asked for.
    assert_plans(&[
        ("Need 2 L4 VMs, no A100", 2, 1, L4),
        ("2 L4 VMs in us-central1, anything but A100", 2, 1, L4),
    ]);
    let outcome = planned("Need 2 L4 VMs, no A100");
    assert!(
        said(&outcome, "\"a100\" is named for comparison"),
        "{outcome:?}"
    );
}

#[test]
fn a_choice_of_cities_is_two_regions() {
    // Planned London: Amsterdam was no place the planner knew.
    assert_refused_saying(
        "Need 2 T4 VMs in London or Amsterdam",
        "the request names more than one region",
    );
    let outcome = planned("Need 2 T4 VMs in Amsterdam");
    assert!(
        outcome.request.zone.starts_with("europe-west4-"),
        "{outcome:?}"
    );
}

#[test]
fn a_region_written_with_a_dash_before_its_number_is_read() {
    // Each was passed over for the default region (us-central1) without a word.
    for (text, zone) in [
        ("1 A100 in europe-west-4", "europe-west4-"),
        ("1 T4 in asia-northeast-1", "asia-northeast1-"),
        ("1 T4 in europe-west-4-b", "europe-west4-b"),
    ] {
        let outcome = planned(text);
        assert!(
            outcome.request.zone.starts_with(zone),
            "{text:?}: {outcome:?}"
        );
    }
    let outcome = planned("1 A100 in europe-west-4");
    assert!(
        said(&outcome, "\"europe-west-4\" read as region europe-west4"),
        "{:?}",
        outcome.request.assumptions
    );
}
