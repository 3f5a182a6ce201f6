//! Words that put a GPU, a place or a count outside the request: a GPU ruled out ("anything
//! but A100", "no A100 please"), what an earlier run used ("the last run OOM'd on a single
//! T4", "previously we had 4 V100s"), VMs deleted before ("were deleted by mistake"); and
//! values written in ways that were passed over: a region with a dash before its number
//! ("europe-west-4"), a city with its country's region ("Amsterdam"), GPU memory before the
//! GPU noun ("24GB GPUs") or after "that has"; and words that name no value: a GPU asked for
//! by rank ("the fastest GPU"), "overnight".

mod support;

use support::{A100, L4, T4, assert_plans, assert_refused_saying, planned, said};

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

#[test]
fn what_an_earlier_run_used_is_context_when_the_rest_asks_for_vms() {
    // Each was refused as naming two GPU types or two counts.
    assert_plans(&[
        (
            "I tried 1 T4 and it was too slow, so need 2 A100 VMs",
            2,
            1,
            A100,
        ),
        ("1 T4 was not enough. Need 4 T4 VMs in us-west1", 4, 1, T4),
        (
            "A single T4 ran out of memory, so we need an L4 VM",
            1,
            1,
            L4,
        ),
        (
            "Our model didn't fit on a T4. Could we get an A100?",
            1,
            1,
            A100,
        ),
        (
            "The job crashed on 2 T4s last night; can we try 1 A100 VM instead?",
            1,
            1,
            A100,
        ),
        (
            "Previously we had 4 V100s; this time 2 A100 VMs are enough",
            2,
            1,
            A100,
        ),
        (
            "We used to run on 8 T4s. Now we need 2 L4 VMs in us-central1",
            2,
            1,
            L4,
        ),
        ("Last week, we ran on 2 T4s. Need 2 L4 VMs.", 2, 1, L4),
        ("Current: 2 T4 VMs\nWanted: 4 L4 VMs", 4, 1, L4),
        (
            "Need 2 T4 VMs in us-west1 since the L4s in us-central1 were unavailable",
            2,
            1,
            T4,
        ),
        (
            "4 T4 GPUs were not enough last time, 8 T4 GPUs across 2 VMs this time",
            2,
            4,
            T4,
        ),
    ]);
    let outcome = planned("I tried 1 T4 and it was too slow, so need 2 A100 VMs");
    assert!(
        said(
            &outcome,
            "\"I tried 1 T4 and it was too slow\" is read as what was or is in use, not as the request"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // A place named with the earlier run is not the one asked for.
    let outcome = planned("We ran 2 T4s in us-east1 last week; need 2 L4 VMs in us-west1");
    assert!(outcome.request.zone.starts_with("us-west1-"), "{outcome:?}");
    // A request that is only such a clause is read as before; one that asks in the same
    // clause is the request.
    assert_plans(&[
        ("The 2 T4 VMs we had last week worked well", 2, 1, T4),
        ("I was told to request 2 T4 VMs", 2, 1, T4),
        (
            "2 T4 VMs that were approved by my manager, us-west1",
            2,
            1,
            T4,
        ),
        ("Need 2 T4 VMs like we had last month", 2, 1, T4),
    ]);
}

#[test]
fn what_an_earlier_run_used_is_not_planned_when_the_rest_leaves_it_out() {
    // Refused as "1 GPU in total cannot be spread evenly over 2 VMs": the single T4 that
    // ran out of memory was read as the request's GPU count.
    assert_refused_saying(
        "Hey, the last run OOM'd on a single T4 (16GB). Can we get something with more memory? 2 VMs should do",
        "\"T4\" is named as what was or is in use (\"the last run OOM'd on a single T4 (16GB)\"), not as the GPU to plan",
    );
    // Its count may or may not carry over to the upgrade.
    assert_refused_saying(
        "Our current setup is 2 V100 VMs. Please upgrade to A100.",
        "the rest of the request counts no VMs or GPUs of its own",
    );
    // What the GPUs need names one: the default T4 (16 GB) is not planned.
    assert_plans(&[(
        "Hey, the last run OOM'd on a single T4 (16GB). Can we get 2 VMs with 24GB GPUs?",
        2,
        1,
        L4,
    )]);
}

#[test]
fn a_memory_size_before_the_gpu_noun_is_the_gpus_memory() {
    // "24GB" was named as saying nothing, and the default T4 (16 GB) planned.
    assert_plans(&[
        ("Need 2 VMs with 24GB GPUs", 2, 1, L4),
        ("Need 2 VMs with 24 GB GPUs", 2, 1, L4),
    ]);
}

#[test]
fn vms_deleted_before_are_no_lifetime() {
    // Refused: the "d" of "deleted" was read as a lifetime's unit ("delete d").
    for text in [
        "The VMs were deleted by mistake, recreate 2 T4 VMs in us-west1",
        "Our VMs got deleted, need 2 T4 VMs in us-west1",
        "2 T4 VMs; the old ones were removed by mistake",
    ] {
        let outcome = planned(text);
        assert_eq!(outcome.request.vm_count, 2, "{text:?}");
        assert_eq!(outcome.expiry, None, "{text:?}");
    }
}

#[test]
fn a_gpu_asked_for_by_rank_is_refused_naming_the_most_capable() {
    // Each planned the default T4 ("the request names no GPU"), or found no request.
    for text in [
        "Need the fastest GPU available, 1 VM",
        "Need the most powerful GPU you have",
        "Need the best GPU for training, 2 VMs",
        "Need 2 VMs with the fastest GPU that has 24GB",
    ] {
        assert_refused_saying(
            text,
            "names no GPU: the catalog ranks GPUs by price and memory, not speed; the most capable offered is nvidia-h100-80gb",
        );
    }
    // A rank of something else says nothing of the GPU.
    assert_plans(&[("What is the best option for GPUs? 2 VMs", 2, 1, T4)]);
    // A GPU named, or the biggest machine, is read as before.
    assert_plans(&[
        ("The best GPU for us is the L4; 2 VMs please", 2, 1, L4),
        ("Need the fastest T4 VM", 1, 1, T4),
    ]);
    let biggest = planned("Need the most powerful GPU VM available in us-central1");
    assert_eq!(biggest.request.gpu_count, 8);
}

#[test]
fn gpu_memory_after_that_or_which_is_read() {
    // "24GB" was named as saying nothing, and the default T4 planned.
    assert_plans(&[
        ("Need 2 VMs with a GPU that has 24GB", 2, 1, L4),
        ("Need 2 VMs with GPUs which have 40GB", 2, 1, A100),
    ]);
}

#[test]
fn overnight_is_named_as_no_lifetime() {
    // Passed over without a word: the VMs ran until someone destroyed them.
    let outcome = planned("Need 2 T4 VMs overnight");
    assert_eq!(outcome.expiry, None);
    assert!(
        outcome
            .ignored
            .iter()
            .any(|part| part.contains("\"overnight\": no lifetime is read from these words")),
        "{:?}",
        outcome.ignored
    );
}

#[test]
fn many_clauses_of_earlier_use_are_named_a_few_and_counted() {
    let text = format!("{}Need 2 L4 VMs", "We had 2 T4s last week. ".repeat(50));
    let outcome = planned(&text);
    assert_eq!(outcome.request.gpu_type, L4);
    let named = outcome
        .request
        .assumptions
        .iter()
        .filter(|a| a.contains("is read as what was or is in use"))
        .count();
    assert_eq!(named, 3, "{:?}", outcome.request.assumptions);
    assert!(
        said(
            &outcome,
            "47 more clauses like these are read as what was or is in use"
        ),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn a_place_the_catalog_does_not_know_is_named() {
    // Planned in us-central1 without a word.
    for (text, place) in [
        ("Need 2 T4 VMs near Seattle", "Seattle"),
        ("Need 2 T4 VMs in Ireland", "Ireland"),
    ] {
        let outcome = planned(text);
        assert!(
            said(&outcome, &format!("\"{place}\" was not read as a place")),
            "{text:?}: {:?}",
            outcome.request.assumptions
        );
    }
    // A place read, or a word that is no place, says nothing of it.
    for text in [
        "Need 2 T4 VMs in Oregon, the team is near Seattle",
        "Need 2 T4 VMs to run code written in Rust",
    ] {
        let outcome = planned(text);
        assert!(!said(&outcome, "was not read as a place"), "{text:?}");
    }
}

#[test]
fn a_spare_is_named_as_not_planned() {
    // "+ 1 spare" was passed over: 2 VMs planned without a word.
    for text in ["Need 2 T4 VMs + 1 spare", "Need 2 T4 VMs plus a spare VM"] {
        let outcome = planned(text);
        assert_eq!(outcome.request.vm_count, 2, "{text:?}");
        assert!(
            outcome
                .ignored
                .iter()
                .any(|part| part.contains("spares are not planned apart")),
            "{text:?}: {:?}",
            outcome.ignored
        );
    }
    // A backup of data is no spare VM.
    let outcome = planned("Need 2 T4 VMs with a backup of the data");
    assert!(outcome.ignored.is_empty(), "{:?}", outcome.ignored);
}
