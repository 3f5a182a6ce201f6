//! Requests written as Markdown tables and issue forms: each count is read by the label it
//! stands under (its column's header, the cell beside it, the form's line above), never by
//! a label in another row, and a count that says not what it counts is refused or named in
//! the plan's assumptions, never dropped for a default.

mod support;

use promptops_core::ExpiryRequest;
use support::{A100, H100, L4, T4, assert_plans, assert_refused_saying, planned, refusal, said};

#[test]
fn a_tables_counts_are_read_by_their_columns_headers() {
    assert_plans(&[
        // Read before as 2 GPUs in total ("gpu 2": the header's last cell taken for the
        // label of the first cell below it) and planned 2 VMs x 1 GPU.
        (
            "| GPUs per VM | VMs | GPU |\n|---|---|---|\n| 2 | 3 | A100 |",
            3,
            2,
            A100,
        ),
        // The header wins over the GPU beside the count: 3 VMs, not 3 A100s.
        ("| GPU | VMs |\n|---|---|\n| A100 | 3 |", 3, 1, A100),
        (
            "| Number of VMs | GPU type | GPUs per VM |\n| :--- | :---: | ---: |\n| 4 | T4 | 2 |",
            4,
            2,
            T4,
        ),
        // Without the outer pipes, as GitHub also renders.
        ("VMs | GPU\n--- | ---\n2 | T4", 2, 1, T4),
        // CRLF line ends, as the web editor sends them.
        ("| VMs | GPU |\r\n|---|---|\r\n| 5 | T4 |\r\n", 5, 1, T4),
    ]);
}

#[test]
fn a_count_under_a_header_that_names_nothing_counts_what_its_row_names() {
    assert_plans(&[
        // The 4 was dropped and 1 A100 planned.
        ("| GPU | Count |\n|---|---|\n| A100 | 4 |", 4, 1, A100),
        ("| Quantity | GPU |\n|---|---|\n| 4 | A100 |", 4, 1, A100),
        (
            "| Item | Qty |\n|---|---|\n| VMs | 3 |\n| GPUs per VM | 2 |\n| GPU | A100 |",
            3,
            2,
            A100,
        ),
        (
            "| Item | How many? |\n|---|---|\n| VM with an A100 | 2 |",
            2,
            1,
            A100,
        ),
    ]);
}

#[test]
fn a_key_value_tables_label_is_the_cell_beside_its_count_in_the_same_row() {
    assert_plans(&[
        (
            "| Field | Value |\n|---|---|\n| VMs | 3 |\n| GPU | A100 |\n| GPUs per VM | 2 |",
            3,
            2,
            A100,
        ),
        // No header row: "| VMs | 3 |" still reads 3 VMs, and "| A100 | 2 |" 2 A100s.
        (
            "| VMs | 3 |\n| GPUs per VM | 2 |\n| GPU | A100 |",
            3,
            2,
            A100,
        ),
        ("| A100 | 2 |", 2, 1, A100),
    ]);
    // Under a header that is no count, the GPU beside a number does not make it one.
    let outcome = planned("| GPU | Budget |\n|---|---|\n| A100 | 500 |");
    assert_eq!(outcome.request.vm_count, 1, "{:?}", outcome.request);
}

#[test]
fn a_count_under_a_label_that_says_not_what_it_counts_is_refused_when_nothing_else_was_read() {
    // An issue form's field "Quantity" holds a count of something unsaid: the deployment
    // was planned at the default count.
    for (text, quoted) in [
        (
            "### Quantity\n\n3\n\n### Region\n\nus-west1",
            "\"3\" under \"Quantity\"",
        ),
        (
            "| Region | Count |\n|---|---|\n| us-west1 | 4 |",
            "\"4\" under \"Count\"",
        ),
    ] {
        let err = refusal(text).to_string();
        assert!(err.contains(quoted), "{text:?}: {err}");
        assert!(err.contains("does not say what it counts"), "{err}");
    }
    // The example of what to write names the request's GPU.
    let err = refusal("### How many?\n\n5\n\n### GPU\n\nT4").to_string();
    assert!(err.contains("\"5 T4 GPUs\""), "{err}");
    // With the counts stated elsewhere, it is named in the plan's assumptions instead.
    let outcome = planned("### Number of VMs\n\n2\n\n### GPU\n\nT4\n\n### Quantity\n\n3");
    assert_eq!(outcome.request.vm_count, 2);
    assert!(
        outcome
            .request
            .assumptions
            .iter()
            .any(|a| a.contains("\"3\" under \"Quantity\" does not say what it counts")),
        "{:?}",
        outcome.request.assumptions
    );
    // A form's other numbers are no counts and stay out of it, wherever they stand: the
    // answer to "Team size" was refused as a count cut off from the GPU below it.
    // On one line after a colon ("Team size: 12") the number answers its label as well;
    // those two were refused with 'write "12 GPU"'.
    for text in [
        "### GPU\n\nT4\n\n### Budget\n\n500",
        "### Team size\n\n12\n\n### GPU\n\nT4",
        "Team size: 12\nGPU: T4",
        "Disks: 2\nGPU: T4",
        "team_size=12\nT4 GPU",
    ] {
        let outcome = planned(text);
        assert_eq!(
            (outcome.request.vm_count, outcome.request.gpu_count),
            (1, 1),
            "{text:?}"
        );
    }
}

#[test]
fn a_count_after_its_label_on_one_line_is_read() {
    // Each was planned at 1 VM x 1 GPU, the count dropped ("2xA100" was no request at all,
    // "GPU count: 2" was refused as a count cut off from the next line's GPU).
    assert_plans(&[
        ("A100: 4", 4, 1, A100),
        ("VMs: 3 with 2 T4 each", 3, 2, T4),
        // Several labels on one line: the 3 was read as GPUs per VM and refused beside the 2.
        ("VMs: 3 GPUs per VM: 2 GPU: T4", 3, 2, T4),
        ("vms=3 gpus_per_vm=2 gpu=t4", 3, 2, T4),
        ("VM count: 3 GPU type: L4 region: us-east4", 3, 1, L4),
        // A label that names nothing leaves the count to its noun.
        ("Need: 2 GPUs: T4", 2, 1, T4),
        ("3 VMs: T4, us-west1", 3, 1, T4),
        ("Instances: 2, each with an A100", 2, 1, A100),
        // As "2x A100" is: 2 A100s in total, one per VM.
        ("2xA100", 2, 1, A100),
        ("3 VMs w/ 2xT4", 3, 2, T4),
        ("GPU count: 2\nGPU: A100", 1, 2, A100),
        ("GPU: A100 (x4)", 4, 1, A100),
        ("A100 (4)", 4, 1, A100),
        ("Need T4 GPUs (5) in us-west1", 5, 1, T4),
        ("VMs (3) with a T4 each", 3, 1, T4),
        ("L4 * 4 in us-east4", 4, 1, L4),
        ("3*T4 in us-west1", 3, 1, T4),
        ("we need T4 GPUs x 4 in europe", 4, 1, T4),
        // Each planned something else: 3 T4s per VM (refused), 2 VMs x 1 L4.
        ("need 3 x T4 VMs in Frankfurt", 3, 1, T4),
        ("two L4 GPUs per worker, 3 workers", 3, 2, L4),
        // As "H100 x8" is: 8 in total, one per VM.
        ("H100 SXM x8", 8, 1, H100),
        ("3 VMs with T4 (two each)", 3, 2, T4),
        ("3 VMs with T4 (one each)", 3, 1, T4),
        // The digits restate the words: the count reads through to its noun.
        ("need two (2) T4 VMs", 2, 1, T4),
        ("Need A100 GPUs, 4 of them", 4, 1, A100),
        ("I need GPUs: T4, 4 of them", 4, 1, T4),
        ("T4 VMs, 3 of those, in us-west1", 3, 1, T4),
        // The words tying a label to its count: each count was dropped, or refused as cut
        // off from the next clause's GPU.
        ("The number of VMs is 3, each with 2 T4", 3, 2, T4),
        ("Number of VMs should be 3 with T4", 3, 1, T4),
        (
            "The number of VMs should be 3 and each needs 2 T4 GPUs.",
            3,
            2,
            T4,
        ),
        // A count that names nothing after the GPUs it counts: refused as naming nothing.
        ("Need T4 GPUs: qty 4", 4, 1, T4),
        ("T4 qty 4 in us-west1", 4, 1, T4),
        // Keys and values on one line: the VM count was dropped.
        ("GPU=T4 VMS=2 REGION=us-west1", 2, 1, T4),
        // A JSON object's keys: the VM count was dropped.
        (
            r#"{"vm_count": 2, "gpu_type": "nvidia-tesla-t4", "gpu_count": 2}"#,
            2,
            2,
            T4,
        ),
        // Keys joined by "_" or "-": the VM count was dropped; "gpus_per_node=4" was read
        // as 4 GPUs in all (2 x 2).
        ("num_vms=3, gpu=l4", 3, 1, L4),
        ("node_count: 2\ngpu: T4", 2, 1, T4),
        ("n_nodes=2, gpus-per-node=8, gpu=a100", 2, 8, A100),
        ("nodes=2 gpus_per_node=4 gpu=a100", 2, 4, A100),
        ("num_gpus=4 gpu=t4", 4, 1, T4),
        ("VM count will be 2, GPU: T4", 2, 1, T4),
        ("GPU count should be set to 2, T4", 1, 2, T4),
        // After a comma a number may be anything.
        ("2 VMs with a T4, 100", 2, 1, T4),
    ]);
}

#[test]
fn a_count_right_after_a_label_that_names_nothing_is_refused_when_nothing_else_was_read() {
    for (text, quoted) in [
        ("gpu=a100 count=4", "\"4\" after \"count\""),
        ("Count: 4\nGPU: A100", "\"4\" after \"Count\""),
        ("- GPU: A100\n- Count: 4", "\"4\" after \"Count\""),
        // A key's value followed by the next key: the count was dropped without a word.
        ("gpu=t4 count=2 region=us-west1", "\"2\" after \"count\""),
    ] {
        let err = refusal(text).to_string();
        assert!(
            err.contains(&format!("{quoted} does not say what it counts")),
            "{text:?}: {err}"
        );
    }
    // A number alone after a comma: dropped without a word.
    for (text, words) in [
        ("T4,2,us-west1", "\"T4,2\" does not say what 2 counts"),
        ("Need L4, 3", "\"L4, 3\" does not say what 3 counts"),
    ] {
        assert_refused_saying(text, words);
    }
    // A year after a comma is no count.
    assert_plans(&[("Need a T4 VM by Dec 5, 2026, in us-west1", 1, 1, T4)]);
    // Without a colon the number may be the count of the GPU on the next line, cut off
    // from it: that is refused, with how to write it.
    let err = refusal("I need 5\nA100").to_string();
    assert!(
        err.contains("write the count right before what it counts"),
        "{err}"
    );
}

#[test]
fn a_disk_size_without_its_unit_after_a_disk_label_is_read_in_gb_and_said_so() {
    // The size was dropped for the default 100 GB ("Disk: 500⏎GPU: T4" was refused as a
    // count cut off from the GPU on the next line).
    for (text, gb, reading) in [
        (
            "T4 with disk 300",
            300,
            Some("\"disk 300\" names no unit: read as 300 GB"),
        ),
        ("Disk: 500\nGPU: T4", 500, Some("read as 500 GB")),
        ("T4, disk size: 250", 250, Some("read as 250 GB")),
        ("### GPU\n\nT4\n\n### Boot disk size (GB)\n\n200", 200, None),
        ("### GPU\n\nT4\n\n### Boot disk (TB)\n\n2", 2000, None),
        (
            "| GPU | Disk |\n|---|---|\n| T4 | 400 |",
            400,
            Some("read as 400 GB"),
        ),
    ] {
        let outcome = planned(text);
        assert_eq!(outcome.request.boot_disk_size_gb, gb, "{text:?}");
        match reading {
            Some(words) => assert!(
                said(&outcome, words),
                "{text:?}: {:?}",
                outcome.request.assumptions
            ),
            None => assert!(!said(&outcome, "names no unit"), "{text:?}"),
        }
    }
}

#[test]
fn a_disk_size_with_a_decimal_point_is_read_in_whole_gb_or_refused() {
    // Each was dropped for the default 100 GB.
    for (text, gb) in [
        ("2 T4 VMs with a 0.5TB disk", 500),
        ("2 T4 VMs, 1.5 TB of storage each", 1500),
        ("T4 VM, boot disk 0.25 TB", 250),
    ] {
        let outcome = planned(text);
        assert_eq!(outcome.request.boot_disk_size_gb, gb, "{text:?}");
        assert!(
            said(&outcome, &format!("read as {gb} GB")),
            "{text:?}: {:?}",
            outcome.request.assumptions
        );
    }
    let err = refusal("T4 VM with a 20.5 GB disk").to_string();
    assert!(
        err.contains("\"20.5 GB disk\" is no whole number of GB"),
        "{err}"
    );
}

#[test]
fn a_gpus_memory_in_parentheses_after_its_name_qualifies_it() {
    // Planned as the 40 GB A100 before.
    for text in ["A100 (80GB)", "2 VMs with an A100 (80 GB) each"] {
        let request = planned(text).request;
        assert_eq!(request.gpu_type, "nvidia-a100-80gb", "{text:?}");
    }
}

#[test]
fn a_checklist_asks_for_its_ticked_options_only() {
    // Refused as naming three GPUs: the unticked options were read as asked for.
    let form = "### GPU type\n- [ ] T4\n- [x] L4\n- [ ] A100\n\n### How many VMs?\n4\n\n### Region\nus-central1";
    assert_plans(&[
        (form, 4, 1, L4),
        ("1. [ ] A100\n2. [x] T4\nVMs: 2", 2, 1, T4),
        // Nothing ticked: a to-do list, read as written.
        ("- [ ] 2 T4 VMs\n- [ ] us-west1", 2, 1, T4),
    ]);
}

#[test]
fn a_lifetime_label_in_bold_is_read() {
    // "2 days" was named as a duration nothing reads: the bold closing the label hid it.
    for text in [
        "## Request\n* **VMs:** 3\n* **GPU:** T4\n* **Region:** us-west1\n* **Lifetime:** 2 days",
        "* **Duration:** 2 days, 3 T4 VMs",
    ] {
        assert_eq!(
            planned(text).expiry,
            Some(ExpiryRequest::For {
                lifetime: "2d".parse().expect("a lifetime")
            }),
            "{text:?}"
        );
    }
}
