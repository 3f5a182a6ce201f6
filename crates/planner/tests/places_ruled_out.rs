//! Places a request rules out ("anywhere except Europe", "not in us-east1, we're in
//! Oregon", "outside the US"): they are not read as the place to plan, the plan stays out
//! of them and says so, and a plan that cannot is refused naming the place.

mod support;

use promptops_planner::PlanInput;
use support::{assert_refused_saying, plan_input, planned, said};

/// The plan's zone for `text`.
fn zone_of(text: &str) -> String {
    planned(text).request.zone
}

#[test]
fn a_place_ruled_out_is_not_the_place_planned() {
    // Each was planned in the place it rules out, or refused as naming two regions.
    for (text, zone) in [
        (
            "Need 2 VMs with T4 GPUs anywhere except Europe",
            "us-central1-a",
        ),
        (
            "Need 2 VMs with T4 GPUs. Not in us-east1 please, we're in Oregon.",
            "us-west1-a",
        ),
        ("Need 2 T4 VMs in us-west1, not us-east1", "us-west1-a"),
        ("Not us-east1, us-west1 please. 2 T4 VMs.", "us-west1-a"),
        (
            "Need a T4 VM in us-west1 rather than us-east1",
            "us-west1-a",
        ),
        (
            "Use us-east1 instead of us-west1 for the T4 VM",
            "us-east1-c",
        ),
        (
            "Please change the region from us-west1 to us-east1, keep 2 T4 VMs.",
            "us-east1-c",
        ),
        ("We are not in Europe, need 2 T4 in us-west1", "us-west1-a"),
    ] {
        assert_eq!(zone_of(text), zone, "{text:?}");
    }
    let outcome = planned("Need 2 VMs with T4 GPUs anywhere except Europe");
    assert!(
        said(
            &outcome,
            "\"anywhere except europe\" is read as ruling out europe-west1, europe-west2, europe-west3, europe-west4"
        ),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn the_default_or_an_areas_first_region_gives_way_to_one_not_ruled_out() {
    let outcome = planned("Need 2 T4 VMs, not in us-central1");
    assert_eq!(outcome.request.zone, "us-east1-c");
    assert!(
        said(
            &outcome,
            "region us-east1: the default region us-central1 is ruled out"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    assert_eq!(
        zone_of("Need 2 T4 VMs outside the US"),
        "northamerica-northeast1-c"
    );
    // Europe's first region offering T4 is Belgium's (europe-west1).
    assert_eq!(
        zone_of("Need a T4 VM in Europe but not in Belgium"),
        "europe-west2-a"
    );
    assert_eq!(
        zone_of("Need a T4 VM in Europe, except Belgium and the Netherlands"),
        "europe-west2-a"
    );
}

#[test]
fn a_list_after_one_lead_is_ruled_out_whole() {
    let outcome = planned("Need a T4 VM anywhere but us-central1 or us-east1");
    assert_eq!(outcome.request.region(), "us-east4");
    assert!(said(
        &outcome,
        "\"anywhere but us-east1\" is read as ruling out us-east1"
    ));
}

#[test]
fn a_plan_that_cannot_stay_out_is_refused_naming_the_place() {
    assert_refused_saying(
        "Need a T4 VM, avoid us-central1-a",
        "the request rules out zone us-central1-a (\"avoid us-central1-a\")",
    );
    assert_refused_saying(
        "Need a T4 VM in us-west1, not in us-west1",
        "the request rules out region us-west1",
    );
    assert_refused_saying(
        "Need a T4 VM in Europe except Belgium, London, Frankfurt and the Netherlands",
        "no region of Europe (europe-west1, europe-west2, europe-west3, europe-west4) offers nvidia-tesla-t4 outside the regions ruled out",
    );
}

#[test]
fn places_named_for_other_reasons_are_read_as_before() {
    for (text, zone) in [
        // "from" rules out only a place moved from.
        ("Moving from a laptop: 2 T4 VMs in us-west1", "us-west1-a"),
        (
            "I'm not sure about the region, maybe us-west1? 2 T4s",
            "us-west1-a",
        ),
    ] {
        assert_eq!(zone_of(text), zone, "{text:?}");
    }
}

#[test]
fn a_fallback_is_no_place_ruled_out() {
    // "if not us-west1, then us-west2" prefers us-west1: planning us-west2 would be wrong,
    // so both stay named and the request is refused as naming two regions.
    assert_refused_saying(
        "If not us-west1, then us-west2. 2 T4 VMs.",
        "the request names more than one region",
    );
}

#[test]
fn a_comment_does_not_lift_a_place_the_issue_rules_out() {
    let outcome = plan_input(&PlanInput {
        title: "GPUs".to_owned(),
        body: "2 T4 VMs, not in us-central1".to_owned(),
        instructions: "make it 3 VMs".to_owned(),
        current: None,
    })
    .expect("planned");
    assert_eq!(
        (outcome.request.vm_count, outcome.request.region()),
        (3, "us-east1")
    );
}

#[test]
fn a_european_region_and_the_americas_are_areas() {
    // Both were passed over for the default region; "European" alone describes people.
    for (text, zone) in [
        ("Need 2 T4 VMs in a European region", "europe-west1-b"),
        ("Need 2 T4 VMs in the Americas", "us-central1-a"),
        ("European team needs 2 T4 VMs in us-west1", "us-west1-a"),
    ] {
        assert_eq!(zone_of(text), zone, "{text:?}");
    }
}
