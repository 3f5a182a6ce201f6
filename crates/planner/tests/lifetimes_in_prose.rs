//! Lifetimes written without "for": "expires in 3 days", "delete it after 3 days". Each
//! planned a deployment with no end before (or refused it as a deletion), so the GPUs ran
//! until someone remembered them. A duration nothing claims is named in the plan, and "3D
//! rendering" is work, not three days.

mod support;

use promptops_core::ExpiryRequest;
use support::{assert_refused_saying, planned, refusal, said, said_times};

fn for_lifetime(text: &str) -> Option<ExpiryRequest> {
    Some(ExpiryRequest::For {
        lifetime: text.parse().expect("a lifetime"),
    })
}

#[test]
fn a_lifetime_stated_by_when_it_ends_is_read() {
    for (text, lifetime) in [
        ("a T4 VM, expires in 3 days", "3d"),
        ("a T4 VM. Expiry: 3 days", "3d"),
        ("a T4 VM, lifetime 3 days", "3d"),
        ("a T4 VM, expire after a week", "1w"),
        ("a T4 VM, TTL: 48h", "48h"),
        ("a T4 VM; tear it down after 2 days", "2d"),
        ("a T4 VM, delete it after 3 days", "3d"),
        ("a T4 VM, auto-delete in 3 days", "3d"),
        ("2 L4 VMs, shut them down after 36 hours", "36h"),
        // An issue form's answer under its question.
        (
            "### What do you need?\n\n2 VMs with an L4 each\n\n### How long?\n\n2 weeks",
            "2w",
        ),
        ("GPU: T4\nDuration: 5 days", "5d"),
        // A key's value right after its "=", a label in underscores, the VMs' own deletion:
        // each was named as a duration nothing reads (the last planned with no end and no
        // word).
        ("ttl=72h, 2 T4 VMs in us-west1", "72h"),
        ("lifetime=48h gpu=t4 vms=2", "48h"),
        ("__Lifetime:__ 2 days\nneed 1 T4 VM", "2d"),
        ("2 T4 VMs; they can be deleted after 72 hours", "72h"),
        ("a T4 VM. How long do you need it? 3 days", "3d"),
    ] {
        let plan = planned(text);
        assert_eq!(plan.expiry, for_lifetime(lifetime), "{text}");
        assert!(
            !said(&plan, "was not read as"),
            "{text}: {:?}",
            plan.request.assumptions
        );
    }
    // A date after an expiry word, and the end of the day, as after "until".
    for (text, expiry) in [
        (
            "1 L4 VM in us-east4, expiring Friday",
            ExpiryRequest::parse_end("friday"),
        ),
        (
            "a T4 VM, expires on 2026-12-24",
            ExpiryRequest::parse_end("2026-12-24"),
        ),
        (
            "A T4 VM until end of day",
            Some(ExpiryRequest::ThroughDaysAhead { days: 0 }),
        ),
        (
            "A T4 VM until the end of the day",
            Some(ExpiryRequest::ThroughDaysAhead { days: 0 }),
        ),
    ] {
        assert_eq!(planned(text).expiry, expiry, "{text}");
    }
    assert_eq!(planned("a T4 VM, expires soon").expiry, None);
    // "Duration" only as a label: here it is the job's, not the deployment's.
    assert_eq!(planned("a T4 VM, training duration 8 hours").expiry, None);
    assert_eq!(
        planned("### GPU\n\nT4\n\n### Duration\n\n5 days").expiry,
        for_lifetime("5d")
    );
    // One that cannot be read is refused with the words written, as after "for".
    let message = refusal("a T4 VM, delete it after 1.5 days").to_string();
    assert!(
        message.contains("\"delete it after 1.5 days\" is not a lifetime PromptOps can read"),
        "{message}"
    );
    // Deleting now is still refused as a deletion.
    let now = refusal("delete all the T4 VMs").to_string();
    assert!(now.contains("asks to delete"), "{now}");
}

#[test]
fn a_duration_nothing_claims_is_named_not_passed_over() {
    for (text, written) in [
        ("a T4 VM (2 days)", "2 days"),
        ("a T4 VM, 48 hours", "48 hours"),
    ] {
        let plan = planned(text);
        assert_eq!(plan.expiry, None, "{text}");
        assert!(
            said(
                &plan,
                &format!(
                    "\"{written}\" was not read as the deployment's lifetime; to have it destroyed after that, write \"for {written}\""
                )
            ),
            "{text}: {:?}",
            plan.request.assumptions
        );
    }
    // Durations that say what they are: nothing to name.
    for text in [
        "a T4 VM for 3 days",
        "2 T4 VMs, training takes about 8 hours",
        "a T4 VM, we started 2 days ago",
        "a T4 VM, ready in 2 days",
    ] {
        let plan = planned(text);
        assert!(
            !said(&plan, "was not read as"),
            "{text}: {:?}",
            plan.request.assumptions
        );
    }
}

#[test]
fn three_d_work_is_no_lifetime() {
    // "for 3D rendering" was read as a lifetime of 3 days.
    assert_eq!(planned("a T4 VM for 3D rendering").expiry, None);
    assert_eq!(
        planned("2 L4 GPUs for 3d modelling for 2 weeks").expiry,
        for_lifetime("2w")
    );
    assert_eq!(planned("an L4 for 3d").expiry, for_lifetime("3d"));
}

#[test]
fn many_unclaimed_durations_are_named_a_few_and_counted() {
    let text = format!(
        "a T4 VM in us-west1. {}",
        (1..=40)
            .map(|n| format!("({n} days)"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let plan = planned(&text);
    let named = said_times(&plan, "was not read as the deployment's lifetime");
    assert_eq!(named, 5, "{:?}", plan.request.assumptions);
    assert!(said(
        &plan,
        "35 more durations were not read as the deployment's lifetime"
    ));
}

#[test]
fn a_lifetime_corrected_after_it_is_the_one_read() {
    // The first was read and the correction named as a duration nothing reads.
    for (text, lifetime, said_words) in [
        (
            "A T4 VM for 3 days, actually 5 days",
            "5d",
            "\"actually 5 days\" is read as a correction of the lifetime",
        ),
        (
            "a T4 VM for 2 days, sorry, I meant 36 hours",
            "36h",
            "\"sorry, I meant 36 hours\" is read as a correction of the lifetime",
        ),
        (
            "for 2 days, no wait, 3 days: a T4 VM",
            "3d",
            "\"no wait, 3 days\" is read as a correction of the lifetime",
        ),
        (
            "a T4 VM for about 3 days, actually about 4 days",
            "4d",
            "is read as a correction of the lifetime",
        ),
    ] {
        let plan = planned(text);
        assert_eq!(plan.expiry, for_lifetime(lifetime), "{text}");
        assert!(
            said(&plan, said_words),
            "{text}: {:?}",
            plan.request.assumptions
        );
        assert!(!said(&plan, "was not read as"), "{text}");
    }
    // With no lifetime before it, a duration after a marker is named, not read.
    let bare = planned("2 T4 VMs, actually 3 days");
    assert_eq!(bare.expiry, None);
    assert!(said(
        &bare,
        "\"3 days\" was not read as the deployment's lifetime"
    ));
    // A correction that is no lifetime is refused with its own words.
    assert_refused_saying(
        "a T4 VM for 3 days, actually 1.5 days",
        "\"actually 1.5 days\" is not a lifetime PromptOps can read",
    );
}

#[test]
fn deleting_after_an_event_is_refused_as_a_time_that_cannot_be_known() {
    // Refused as a request to delete the deployment, which it is not.
    for (text, written) in [
        (
            "We need a T4 VM for the demo; delete it after the demo.",
            "delete it after the demo",
        ),
        (
            "a T4 VM, tear it down after our workshop",
            "tear it down after our workshop",
        ),
    ] {
        let err = refusal(text).to_string();
        assert!(
            err.contains(&format!("\"{written}\" names an event, not a time")),
            "{text}: {err}"
        );
        assert!(!err.contains("asks to delete"), "{err}");
    }
    // A deletion is still one.
    assert_refused_saying("delete it", "The request asks to delete");
}

#[test]
fn a_range_of_days_ends_at_its_end_and_its_start_is_named() {
    // Each was planned with no end, its dates passed over without a word.
    for (text, end) in [
        (
            "Need a T4 VM from Dec 10 to Dec 12",
            ExpiryRequest::through_month_day(12, 12),
        ),
        (
            "Need a T4 VM from Dec 10 - Dec 12",
            ExpiryRequest::through_month_day(12, 12),
        ),
        (
            "Need a T4 VM from 2026-12-10 to 2026-12-12",
            ExpiryRequest::through_date(2026, 12, 12),
        ),
    ] {
        let outcome = planned(text);
        assert_eq!(outcome.expiry, end, "{text:?}");
        assert!(
            said(
                &outcome,
                "is a start: PromptOps creates the VMs when this plan's pull request is merged"
            ),
            "{text:?}: {:?}",
            outcome.request.assumptions
        );
    }
    let dashed = planned("Need a T4 VM from Dec 10 - Dec 12");
    assert!(
        said(&dashed, "\"- Dec 12\" read as through December 12"),
        "{:?}",
        dashed.request.assumptions
    );
}

#[test]
fn a_start_beside_a_lifetime_is_named_and_the_lifetime_kept() {
    for (text, lifetime, start) in [
        (
            "Need 3 boxes with a T4 for 2 weeks starting Monday",
            "2w",
            "\"starting Monday\" is a start",
        ),
        (
            "Need a T4 VM from tomorrow for 3 days",
            "3d",
            "\"from tomorrow\" is a start",
        ),
    ] {
        let outcome = planned(text);
        assert_eq!(outcome.expiry, for_lifetime(lifetime), "{text:?}");
        assert!(
            said(&outcome, start),
            "{text:?}: {:?}",
            outcome.request.assumptions
        );
    }
    // "from today" starts when the plan is applied anyway; "from Monday's run" is no start.
    for text in [
        "Need 2 T4s from today for 3 days",
        "Need a T4 VM for the training data from Monday's run",
    ] {
        assert_eq!(said_times(&planned(text), "is a start"), 0, "{text:?}");
    }
}

#[test]
fn the_end_of_a_range_that_cannot_be_read_is_refused() {
    assert_refused_saying(
        "Need a T4 VM from Dec 10 to the end of the month",
        "\"to the end of the month\" is not an end date PromptOps can read",
    );
}

#[test]
fn a_deletion_denied_or_left_for_later_is_no_request_to_delete() {
    // Each was refused as asking to delete the deployment.
    for text in [
        "Need two T4 VMs in us-west1 — will delete them myself when done",
        "Need two T4 VMs in us-west1, don't delete them automatically",
        "Need two T4 VMs in us-west1 for a demo on Friday, tear down after",
        "Need 2 T4 VMs, no need to destroy anything",
    ] {
        let outcome = planned(text);
        assert_eq!(
            (outcome.request.vm_count, outcome.expiry),
            (2, None),
            "{text:?}"
        );
    }
    // Named, not dropped, with the object between the verb's words too.
    let torn = planned("Need two T4 VMs, tear them down after");
    assert!(
        said(&torn, "\"tear them down after\": no deletion is scheduled"),
        "{:?}",
        torn.request.assumptions
    );
    let later = planned("Need two T4 VMs in us-west1 — will delete them myself when done");
    assert!(
        said(
            &later,
            "\"delete them myself\": no deletion is scheduled from these words"
        ),
        "{:?}",
        later.request.assumptions
    );
    // Asked for now, it is still refused.
    for text in [
        "please delete all my VMs",
        "Don't create anything, just delete it",
    ] {
        assert_refused_saying(text, "The request asks to delete");
    }
}

#[test]
fn a_deleting_verb_before_a_date_ends_the_deployment_then() {
    // "shut them down Wednesday" was passed over (no end); "delete them on Friday" and
    // "delete them tomorrow" were refused as asking to delete now.
    for (text, end) in [
        (
            "3 VMs, each with one L4, in europe-west4. Please shut them down Wednesday.",
            ExpiryRequest::ThroughWeekday {
                weekday: chrono::Weekday::Wed,
            },
        ),
        (
            "2 T4 VMs, delete them on Friday",
            ExpiryRequest::ThroughWeekday {
                weekday: chrono::Weekday::Fri,
            },
        ),
        (
            "2 T4 VMs, delete them tomorrow",
            ExpiryRequest::ThroughDaysAhead { days: 1 },
        ),
    ] {
        assert_eq!(planned(text).expiry, Some(end), "{text:?}");
    }
    assert_eq!(
        planned("2 T4 VMs, tear it down by Dec 12").expiry,
        ExpiryRequest::through_month_day(12, 12)
    );
    // A duration before "later" (refused as asking to delete now).
    assert_eq!(
        planned("2 T4 VMs, delete them 3 days later").expiry,
        for_lifetime("3d")
    );
    // After "after", a date keeps the VMs through that day (refused as asking to delete).
    assert_eq!(
        planned("Need 2 T4 VMs; please delete them after 2026-12-31").expiry,
        ExpiryRequest::parse_end("2026-12-31")
    );
    assert_eq!(
        planned("Need 2 T4 VMs, delete after Dec 20").expiry,
        ExpiryRequest::through_month_day(12, 20)
    );
    // A date it cannot read is refused with its words, not as a deletion.
    assert_refused_saying(
        "2 T4 VMs, delete them at the end of the month",
        "\"delete them at the end of the month\" is not an end date PromptOps can read",
    );
}

#[test]
fn just_for_today_ends_with_the_day() {
    // Passed over: the VMs ran until someone destroyed them.
    for text in [
        "Need a T4 VM to test our Streamlit demo, just for today",
        "Need 2 T4 VMs for tonight",
    ] {
        assert_eq!(
            planned(text).expiry,
            Some(ExpiryRequest::ThroughDaysAhead { days: 0 }),
            "{text:?}"
        );
    }
    // When they are needed, or a span it does not read whole, is no end.
    for text in [
        "Need 2 T4 VMs for tomorrow",
        "Need 2 T4 VMs for today and tomorrow",
    ] {
        assert_eq!(planned(text).expiry, None, "{text:?}");
    }
}
