//! Counts written in prose: what a count joined to the VMs counts ("2 nodes of 4xT4",
//! "in total"), counts asked for without what they count ("make it 3") and counts of people
//! ("10 people need a T4 each"), a stated GPU count against a model-size estimate, and the
//! refusals that say why one deployment cannot be two ("T4 or L4", two zones).

mod support;

use promptops_planner::PlanInput;
use support::{
    A100, A100_80, L4, T4, assert_plans, assert_refused_saying, plan_input, planned, refusal, said,
    said_times,
};

#[test]
fn a_stated_gpu_count_wins_over_a_model_estimate_which_only_spreads_it() {
    // A stated GPU count is the request's: the estimate only spreads it. "2 A100 80GB"
    // for a 70B model was refused as "2 GPUs in total is not a multiple of 4 GPUs per VM",
    // a 4 the request never said.
    let asked = planned("We want to run Llama 70B inference. 2 A100 80GB in us-east4.");
    assert_eq!(
        (
            asked.request.vm_count,
            asked.request.gpu_count,
            asked.request.gpu_type.as_str()
        ),
        (1, 2, A100_80),
        "{:?}",
        asked.request
    );
    assert!(said(&asked, "planned as asked"), "{asked:?}");
    let spread = planned("Llama 13B on 4 T4 GPUs");
    assert_eq!(
        (spread.request.vm_count, spread.request.gpu_count),
        (2, 2),
        "{:?}",
        spread.request
    );
    assert!(said(&spread, "cheapest fit"), "{spread:?}");
    // "Llama 3.1 8B": the version apart from the name hid the size (planned 1 T4 per VM,
    // 16 GB for a model of about 20).
    let versioned = planned("2 T4 VMs in us-west1 for Llama 3.1 8B");
    assert_eq!(
        (versioned.request.vm_count, versioned.request.gpu_count),
        (2, 2)
    );
    assert!(said(&versioned, "8 billion parameters"), "{versioned:?}");
    let per_vm = planned("a 13B model on 2 VMs with 8 T4 GPUs in total");
    assert_eq!((per_vm.request.vm_count, per_vm.request.gpu_count), (2, 4));
    // The phrase's "in total" wins over the VMs before it: this was read as 8 T4s per VM
    // and refused.
    for text in [
        "2 VMs with 8 T4 GPUs in total",
        "2 VMs having 8 T4 GPUs altogether",
    ] {
        let total = planned(text);
        assert_eq!(
            (total.request.vm_count, total.request.gpu_count),
            (2, 4),
            "{text:?}"
        );
    }
    let each = planned("3 VMs with 2 T4 over the next 2 weeks");
    assert_eq!((each.request.vm_count, each.request.gpu_count), (3, 2));
}

#[test]
fn a_memory_a_named_gpu_lacks_is_refused_naming_the_ram_reading_when_it_may_be_meant() {
    let err = refusal("Need 2 VMs with 1 T4 GPU and 64GB memory in us-west1").to_string();
    assert!(err.contains("t4 comes with 16 GB"), "{err}");
    assert!(
        err.contains("if the VM's memory was meant, write it as RAM (e.g. \"64GB RAM\")"),
        "{err}"
    );
    // "GPU memory" says which memory it is.
    let err = refusal("a T4 with 64GB of GPU memory").to_string();
    assert!(!err.contains("write it as RAM"), "{err}");
}

#[test]
fn two_gpus_or_zones_in_one_request_are_refused_saying_a_deployment_has_one_of_each() {
    for (text, field) in [
        ("Need 2 L4s + 1 T4", "gpu_type"),
        ("need 2 GPUs, preferably T4 or L4, us-west1", "gpu_type"),
        (
            "need 3 vms w/ t4 in us-west1-b and 2 more in us-west1-a",
            "zone",
        ),
    ] {
        let err = refusal(text).to_string();
        assert!(
            err.contains(&format!("the request names more than one {field}")),
            "{text:?}: {err}"
        );
        assert!(
            err.contains("pick one, or ask for the others in a request of their own"),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn a_gpu_count_joined_to_the_vms_is_per_vm_and_an_and_is_said() {
    // "2 nodes of 4xT4" was read as 4 in total, 2 per node.
    let of = planned("2 nodes of 4xT4 in us-central1").request;
    assert_eq!((of.vm_count, of.gpu_count), (2, 4));
    // "2 VMs and 4 GPUs" may mean 4 in all: planned per VM, as before, and now said.
    let and = planned("2 VMs and 4 T4 GPUs in us-west1");
    assert_eq!((and.request.vm_count, and.request.gpu_count), (2, 4));
    assert!(said(&and, "read as 4 GPUs per VM"), "{and:?}");
}

#[test]
fn a_count_asked_for_without_what_it_counts_is_refused_or_noted() {
    // Follow-up comments that were planned as no change at all.
    let current = planned("I need 5 T4 GPUs in us-west1").request;
    let edit = |instructions: &str| {
        plan_input(&PlanInput {
            body: "I need 5 T4 GPUs in us-west1".to_owned(),
            instructions: instructions.to_owned(),
            current: Some(current.clone()),
            ..PlanInput::default()
        })
    };
    for (instructions, quoted) in [
        (
            "scale down to 2",
            "\"scale down to 2\" does not say what 2 counts",
        ),
        (
            "we only need 2 now",
            "\"only need 2\" does not say what 2 counts",
        ),
        (
            "add 50% more VMs",
            "\"50% more VMs\" is a share, not a count",
        ),
    ] {
        let err = edit(instructions).expect_err(instructions).to_string();
        assert!(err.contains(quoted), "{instructions:?}: {err}");
    }
    // "make it 3" corrects the one kind of count the issue names: its 5 GPUs.
    let three = edit("make it 3").expect("a correction of the issue's count");
    assert_eq!(three.request.vm_count * three.request.gpu_count, 3);
    assert!(
        said(
            &three,
            "\"make it 3\" is read as a correction of \"5 t4 gpus\""
        ),
        "{:?}",
        three.request.assumptions
    );
    // A first request: the count was dropped and 1 VM planned.
    let err = refusal("Could we get access to H100s? Need at least 2, more is better.").to_string();
    assert!(
        err.contains("\"Need at least 2\" does not say what 2 counts"),
        "{err}"
    );
    let err = refusal("T4 GPUs in us-west1 please, we need 4").to_string();
    assert!(
        err.contains("\"need 4\" does not say what 4 counts"),
        "{err}"
    );
    // With the counts stated, it is named in the assumptions.
    let noted = planned("2 T4 VMs in us-west1; later we may need 4");
    assert_eq!(noted.request.vm_count, 2);
    assert!(
        said(&noted, "\"need 4\" does not say what 4 counts"),
        "{noted:?}"
    );
}

#[test]
fn looking_for_labels_colons_leaves_refusals_quoted_as_written() {
    // Each "Team size: 12" above a GPU asks whether the 12 follows a colon; those lookups
    // once shared the quotes' budget, and the refusal below quoted "need 4".
    let form = "Team size: 12\nGPU: T4\n".repeat(20);
    let err = refusal(&format!("{form}Need 4")).to_string();
    assert!(
        err.contains("\"Need 4\" does not say what 4 counts"),
        "{err}"
    );
}

#[test]
fn pieces_and_units_count_what_follows() {
    // "4 pcs T4" was planned at 1 T4.
    // "NVIDIA L4, qty 4" was refused: the comma cut the count from the GPU it follows.
    for text in [
        "4 pcs T4",
        "4 units of T4 in us-west1",
        "GPU VM please: NVIDIA T4, qty 4",
        "T4, qty 4, us-west1",
    ] {
        let request = planned(text).request;
        assert_eq!(request.vm_count * request.gpu_count, 4, "{text:?}");
    }
}

#[test]
fn a_count_of_people_that_says_not_what_each_gets_is_refused() {
    // Planned at 1 VM, the 5 dropped.
    let err = refusal("need T4 GPUs for 5 people in us-west1").to_string();
    assert!(
        err.contains("\"5 people\" does not say how many VMs or GPUs they need"),
        "{err}"
    );
    assert!(err.contains("\"5 people, each with a T4 VM\""), "{err}");
    // With the VMs counted, the people are only context.
    let counted = planned("a team of 5 people needs 2 T4 VMs").request;
    assert_eq!(counted.vm_count, 2);
}

#[test]
fn what_each_person_gets_without_a_number_of_people_is_refused_or_read_per_vm() {
    // Each was planned at 1 VM: the share's own "a T4 VM" taken for the deployment.
    for (text, people) in [
        ("Each user needs a T4 VM", "users"),
        ("one T4 per developer", "developers"),
        ("an A100 VM per researcher", "researchers"),
        ("Each team needs their own VM with 2 L4s", "teams"),
        ("T4 VMs, one per engineer", "engineers"),
    ] {
        let err = refusal(text).to_string();
        assert!(
            err.contains(&format!("does not say how many {people} there are")),
            "{text:?}: {err}"
        );
    }
    // The example is written of one GPU, with its article.
    let err = refusal("a VM per team with 2 L4s").to_string();
    assert!(err.contains("\"5 teams, each with an L4 VM\""), "{err}");
    // With the VMs or GPUs counted, GPUs per person are GPUs per VM: "3 VMs, one T4 per
    // developer" was refused as 1 GPU spread over 3 VMs, "8 T4 GPUs, one T4 per
    // developer" as two GPU totals.
    assert_plans(&[
        ("3 VMs, one T4 per developer", 3, 1, T4),
        ("8 T4 GPUs, one T4 per developer", 8, 1, T4),
    ]);
    let per_vm = planned("3 VMs, one T4 per developer");
    assert!(
        said(
            &per_vm,
            "read as 1 GPU(s) on each VM: the request names no number of developers"
        ),
        "{:?}",
        per_vm.request.assumptions
    );
    let vms = planned("a T4 VM for each developer, 4 VMs in total");
    assert_eq!(vms.request.vm_count, 4);
    assert!(
        said(&vms, "was not read as a count"),
        "{:?}",
        vms.request.assumptions
    );
    // A share named by the noun before it counts with the people: this was refused as "5
    // engineers" saying not what each gets.
    assert_plans(&[
        (
            "We need T4 VMs, one per engineer, for 5 engineers",
            5,
            1,
            T4,
        ),
        (
            "We need L4 GPUs, two per researcher, 3 researchers",
            3,
            2,
            L4,
        ),
    ]);
}

#[test]
fn another_with_nothing_after_it_counts_what_was_named_before_it() {
    // Right after the VMs it adds to, "and another" is one more of them: a list of two.
    // These were refused as changes of a deployment that does not exist yet.
    assert_plans(&[
        (
            "an L4 VM in asia-east1 and another in asia-east1",
            1 + 1,
            1,
            L4,
        ),
        ("an L4 VM in asia-east1 and another", 2, 1, L4),
        ("one T4 VM, and another one for testing", 2, 1, T4),
        ("a T4 VM for me and another for Bob", 2, 1, T4),
        ("2 T4 VMs and another for Bob", 3, 1, T4),
        (
            "Need a node with 8 A100s and another with 8 A100s",
            2,
            8,
            A100,
        ),
    ]);
    assert!(
        refusal("a node with 8 A100s and another with 4 A100s")
            .to_string()
            .contains("\"4 a100s\", \"8 a100s\"")
    );
    // Elsewhere "another" counts the VMs named before it; in a first request there is
    // nothing to add to, so it is refused. Each planned 1 VM and said nothing of the other.
    for text in [
        "I need a T4 VM. Also another one like it.",
        "a T4 VM and one more please",
        "an A100 VM with 4 GPUs, one more in the same zone",
    ] {
        let message = refusal(text).to_string();
        assert!(
            message.contains("vm_count") && message.contains("write the number you want in all"),
            "{text}: {message}"
        );
    }
    let gpus = refusal("a T4 GPU and another").to_string();
    assert!(gpus.contains("gpu_count = \"another\""), "{gpus}");
    // Nothing named at all: it could add a VM or a GPU.
    let nothing = refusal("we will need another one please").to_string();
    assert!(
        nothing.contains("\"another one\" does not say what it counts; write \"1 more VM\""),
        "{nothing}"
    );
    // A word after it is what it counts: these ask for one VM (and two now).
    for (text, vms) in [
        ("another question: can we get a T4 VM?", 1),
        ("a T4 VM, and another thing: it needs a 200GB disk", 1),
        ("2 T4 VMs, we need 2 more next week", 2),
    ] {
        assert_eq!(planned(text).request.vm_count, vms, "{text}");
    }
}

#[test]
fn the_cheapest_region_is_answered_not_passed_over() {
    for (text, written) in [
        ("a T4 in the cheapest region", "cheapest region"),
        ("T4, lowest cost region please", "lowest cost region"),
        ("2 L4 GPUs wherever it is cheapest", "cheapest"),
    ] {
        let plan = planned(text);
        assert!(
            said(
                &plan,
                &format!(
                    "\"{written}\": the catalog gives each GPU and machine type one price in every region"
                )
            ),
            "{text}: {:?}",
            plan.request.assumptions
        );
    }
    // The cheapest GPU is another matter: it picks the GPU.
    let gpu = planned("the cheapest GPU in us-west1");
    assert!(!said(&gpu, "one price in every region"), "{gpu:?}");
}

#[test]
fn a_multiplier_after_the_gpu_reads_as_the_count_before_it_would() {
    for (text, vms, per_vm) in [
        // "A100x8" was refused as no request at all.
        ("A100x8 in us-central1", 8, 1),
        ("A100 x 8 in us-central1", 8, 1),
        // Before a VM noun in the singular: that VM's GPUs, as "8x H100 node" (8 VMs before).
        ("H100 x8 node, us-central1", 1, 8),
        ("H100x8 node", 1, 8),
        // After "VMs of": per VM, as "2 nodes of 4xT4" (2 VMs x 1 before).
        ("2 VMs of T4 x2", 2, 2),
        ("2 VMs of T4x2", 2, 2),
        ("T4 x 2 VMs", 2, 1),
        // After a VM noun it counts VMs (planned at 1 VM before).
        ("L4 VMs x 3 in Singapore", 3, 1),
        ("T4 nodes x2", 2, 1),
        ("2 VMs x 2 T4", 2, 2),
        // "GPU" in the singular before a VM in the singular is an adjective, as in "a 4-GPU
        // VM": each was planned as 4 VMs with 1 GPU.
        ("4 GPU T4 VM", 1, 4),
        ("a 4 GPU VM with T4s", 1, 4),
        ("2 GPU L4 machine in us-east1", 1, 2),
        ("2 GPU VMs with T4", 2, 1),
        // So many VMs of the shape after the "x": the first count was dropped and the
        // second read as VMs (4 x 1, 8 x 1).
        ("3 x 4 GPU T4 VMs", 3, 4),
        ("2 x 8 A100 nodes", 2, 8),
        ("2x 8xA100 nodes", 2, 8),
        ("3 x (4x T4) VMs", 3, 4),
        ("4 x T4 VMs", 4, 1),
        // A multiplying word: "dual-T4" was no request at all, "quad" was dropped.
        ("Could you set up a dual-T4 machine?", 1, 2),
        ("quad A100 node", 1, 4),
        ("2 dual-GPU VMs with L4", 2, 2),
    ] {
        let plan = planned(text);
        assert_eq!(
            (plan.request.vm_count, plan.request.gpu_count),
            (vms, per_vm),
            "{text}"
        );
    }
    // "rtx4090" stays a name.
    assert!(said(&planned("rtx4090 please"), "rtx4090"));
}

#[test]
fn sizes_in_gigs_are_read_and_memory_said_of_no_gpu_is_named() {
    // "500 gigs of disk" was passed over for the default 100 GB.
    assert_eq!(
        planned("Looking for a single H100 box, 500 gigs of disk, Iowa")
            .request
            .boot_disk_size_gb,
        500
    );
    assert_eq!(
        planned("a T4 VM with a 2 terabyte disk")
            .request
            .boot_disk_size_gb,
        2000
    );
    // RAM sizes the machine (`machine_size.rs`).
    let ram = planned("a T4 VM with 64 gigs of RAM");
    assert!(ram.request.machine_type.starts_with("n1-"), "{ram:?}");
    assert!(
        said(&ram, "at least 64 GB of memory (\"64 gigs of RAM\")"),
        "{ram:?}"
    );
    // "memory" alone with a VM: neither GPU memory nor RAM was read, and the plan said
    // nothing of it.
    let memory = planned("a T4 VM with 80GB of memory");
    assert_eq!(memory.request.gpu_type, T4);
    assert!(
        said(
            &memory,
            "\"80GB of memory\" was not read: for the VM's memory write \"80GB RAM\"; for GPU memory write \"a GPU with 80GB\""
        ),
        "{memory:?}"
    );
    let gpu = planned("a GPU with 24 gigs");
    assert_eq!(gpu.request.gpu_type, "nvidia-l4");
    // A form factor between the name and its memory: both were planned as the 40 GB A100,
    // the second at 1 VM.
    for (text, vms) in [("2 A100 SXM4 80GB", 2), ("A100 PCIe 80GB x2", 2)] {
        let plan = planned(text);
        assert_eq!(
            (plan.request.gpu_type.as_str(), plan.request.vm_count),
            (A100_80, vms),
            "{text}"
        );
    }
    // A size that says not what it sizes was passed over for the default disk.
    let bare = planned("1 VM, 2 GPUs (T4), 200GB, us-central1-b");
    assert_eq!(bare.request.boot_disk_size_gb, 100);
    assert!(
        said(
            &bare,
            "\"200GB\" was not read: it does not say what it sizes; write \"200GB disk\""
        ),
        "{bare:?}"
    );
    assert!(!said(&planned("a T4 VM with a 200GB disk"), "was not read"));
    // Many: a few named, the rest counted.
    let sizes = (1..=30)
        .map(|n| format!("{n}0GB"))
        .collect::<Vec<_>>()
        .join(", ");
    let many = planned(&format!("1 T4 VM, {sizes}"));
    let named = said_times(&many, "does not say what it sizes");
    assert_eq!(named, 5, "{:?}", many.request.assumptions);
    assert!(said(
        &many,
        "25 more sizes that say not what they size were not read"
    ));
}

#[test]
fn a_slash_between_labelled_fields_separates_them() {
    // "L4 / Count: 2" read "L4 per count 2", and the count was dropped for 1 VM.
    let message = refusal("GPU: L4 / Count: 2 / Region: asia-southeast1").to_string();
    assert!(
        message.contains("\"2\" after \"Count\" does not say what it counts"),
        "{message}"
    );
    let plan = planned("GPU: L4 / VMs: 2 / Region: asia-southeast1");
    assert_eq!(plan.request.vm_count, 2);
    // A slash without a label after it still reads "per".
    let per = planned("2 GPUs / VM, T4, 3 VMs");
    assert_eq!((per.request.vm_count, per.request.gpu_count), (3, 2));
}

#[test]
fn what_each_person_gets_may_follow_each_person() {
    // "Each attendee needs a VM with a T4" after "30 attendees" was planned at 1 VM.
    let workshop = refusal(
        "We are running a workshop on Dec 10 with 30 attendees. Each attendee needs a VM with a T4. Please put them in europe-west4.",
    )
    .to_string();
    assert!(
        workshop.contains("vm_count = 30: exceeds the policy's max_vms of 20"),
        "{workshop}"
    );
    for (text, vms, per_vm) in [
        ("12 students; every student gets 2 L4 GPUs", 12, 2),
        (
            "5 developers. Each developer should have their own T4 VM.",
            5,
            1,
        ),
        ("8 attendees, each attendee with a T4 VM", 8, 1),
    ] {
        let plan = planned(text);
        assert_eq!(
            (plan.request.vm_count, plan.request.gpu_count),
            (vms, per_vm),
            "{text}"
        );
    }
}

#[test]
fn a_gpu_asked_for_without_a_name_is_one_of_the_default_gpu_and_said() {
    // Refused as "no request for VMs or GPUs was found".
    for text in [
        "I need a GPU",
        "a GPU please",
        "Can I get a GPU in us-west1 for 2 days?",
    ] {
        let plan = planned(text);
        assert_eq!(
            (plan.request.vm_count, plan.request.gpu_count),
            (1, 1),
            "{text}"
        );
        assert!(
            said(&plan, "(default: the request names no GPU)"),
            "{text}: {:?}",
            plan.request.assumptions
        );
    }
    // A count of GPUs without a name said nothing of the default GPU either.
    assert!(said(
        &planned("Need 5 GPUs"),
        "(default: the request names no GPU)"
    ));
    // "a GPU" that describes the work or the GPU wanted is no count.
    assert_plans(&[
        ("we have a GPU workload, need 2 T4 VMs", 2, 1, T4),
        ("need 2 GPUs like an RTX 3090", 2, 1, "nvidia-l4"),
    ]);
}

#[test]
fn people_beside_a_different_vm_count_are_named_as_sharing_it() {
    // The people were passed over without a word.
    let outcome = planned("Need a T4 VM for 3 interns");
    assert_eq!(outcome.request.vm_count, 1);
    assert!(
        said(
            &outcome,
            "\"3 interns\" is read as who uses the deployment: 1 VM(s) planned as stated; for one VM each write \"3 interns, each with a T4 VM\""
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // As many people as VMs: nothing to say.
    assert_eq!(
        said_times(&planned("2 T4 VMs for 2 students"), "who uses"),
        0
    );
}

#[test]
fn a_bare_count_before_a_place_is_refused_as_one() {
    // Planned 1 VM without a word about the 2.
    for text in [
        "Need 2 in us-west1, T4",
        "T4s are great. Need 2 in Oregon please",
    ] {
        assert_refused_saying(text, "\"Need 2\" does not say what 2 counts");
    }
}
