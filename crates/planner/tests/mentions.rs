//! `Mentions`: what the user wrote explicitly, and `check` holding a plan to it.

use promptops_core::{Catalog, DeploymentRequest};
use promptops_planner::PlanInput;
use promptops_planner::mentions::Mentions;

fn extract(text: &str) -> Mentions {
    Mentions::extract(text, Catalog::embedded()).unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

fn values<T: Clone>(list: &[promptops_planner::mentions::Mentioned<T>]) -> Vec<T> {
    list.iter().map(|m| m.value.clone()).collect()
}

fn request(vm_count: u32, gpu_count: u32) -> DeploymentRequest {
    DeploymentRequest {
        name: "demo".to_owned(),
        vm_count,
        gpu_type: "nvidia-tesla-t4".to_owned(),
        gpu_count,
        machine_type: "n1-standard-4".to_owned(),
        zone: "us-west1-b".to_owned(),
        boot_disk_size_gb: 100,
        rationale: String::new(),
        assumptions: Vec::new(),
    }
}

#[test]
fn counts_in_digits_words_and_per_vm_forms() {
    let m = extract("5 VMs");
    assert_eq!(values(&m.vm_count), [5]);
    let m = extract("five machines");
    assert_eq!(values(&m.vm_count), [5]);
    let m = extract("3 instances");
    assert_eq!(values(&m.vm_count), [3]);
    let m = extract("5 T4 GPUs");
    assert_eq!(
        (values(&m.total_gpus), values(&m.vm_count)),
        (vec![5], vec![])
    );
    let m = extract("2 GPUs each");
    assert_eq!(values(&m.gpus_per_vm), [2]);
    let m = extract("2 GPUs per VM");
    assert_eq!(values(&m.gpus_per_vm), [2]);
    let m = extract("4 VMs with 2 T4s");
    assert_eq!(
        (values(&m.vm_count), values(&m.gpus_per_vm)),
        (vec![4], vec![2])
    );
    let m = extract("nineteen nodes");
    assert_eq!(values(&m.vm_count), [19]);
}

#[test]
fn gpu_spellings_locations_machine_types_and_disks() {
    for (text, id) in [
        ("T4", "nvidia-tesla-t4"),
        ("a100 80gb", "nvidia-a100-80gb"),
        ("A100-80GB", "nvidia-a100-80gb"),
        ("H100", "nvidia-h100-80gb"),
        ("v100", "nvidia-tesla-v100"),
        ("nvidia tesla t4", "nvidia-tesla-t4"),
        ("4 L4s", "nvidia-l4"),
    ] {
        assert_eq!(values(&extract(text).gpu_type), [id], "{text:?}");
    }
    let m = extract("an A100 80GB VM");
    assert!(
        m.boot_disk_size_gb.is_empty(),
        "80GB of the GPU name is not a disk"
    );
    let m = extract("in us-west1, zone us-west1-b, on n1-standard-8 and a2-highgpu-1g");
    assert_eq!(values(&m.region), ["us-west1"]);
    assert_eq!(values(&m.zone), ["us-west1-b"]);
    assert_eq!(values(&m.machine_type), ["n1-standard-8", "a2-highgpu-1g"]);
    assert_eq!(values(&extract("200GB disk").boot_disk_size_gb), [200]);
    assert_eq!(
        values(&extract("500 GB boot disk").boot_disk_size_gb),
        [500]
    );
    assert!(extract("64 GB RAM").boot_disk_size_gb.is_empty());
    assert!(
        extract("n1-standard-8 machines").vm_count.is_empty(),
        "8 of a machine type is not a count"
    );
}

#[test]
fn unknown_names_are_errors() {
    let err = Mentions::extract(
        "4 RTX 5090 GPUs in asia-south9 on n2-standard-4",
        Catalog::embedded(),
    )
    .expect_err("unknown names");
    let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["region", "machine_type", "gpu_type"], "{err}");
}

#[test]
fn check_reports_each_contradiction_in_the_users_words() {
    let m = extract("5 VMs");
    let errors = m.check(&request(3, 1));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "vm_count");
    assert_eq!(
        errors[0].message,
        "you asked for \"5 vms\"; the plan has 3 VMs"
    );
    assert!(m.check(&request(5, 1)).is_empty());

    let m = extract("2 L4 GPUs each in europe-west4 with a 300 GB disk");
    let errors = m.check(&request(1, 1));
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["gpu_count", "gpu_type", "region", "boot_disk_size_gb"]
    );
}

#[test]
fn a_total_accepts_every_consistent_split() {
    let m = extract("I need 8 T4 GPUs");
    assert!(m.check(&request(8, 1)).is_empty());
    assert!(m.check(&request(4, 2)).is_empty());
    assert!(m.check(&request(2, 4)).is_empty());
    let errors = m.check(&request(3, 2));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .message
            .contains("6 GPUs in total (3 VMs × 2 GPUs)"),
        "{}",
        errors[0].message
    );
}

#[test]
fn alternatives_are_all_accepted_by_check_but_flagged_as_ambiguous() {
    let m = extract("us-west1 or us-central1");
    assert_eq!(values(&m.region), ["us-west1", "us-central1"]);
    assert!(m.check(&request(1, 1)).is_empty());
    assert_eq!(m.ambiguities().len(), 1);
}

#[test]
fn the_comment_overrides_the_issue_group_by_group() {
    let input = PlanInput {
        title: "T4 boxes".to_owned(),
        body: "5 VMs with T4 in us-west1, 200 GB disk".to_owned(),
        instructions: "make it 3 VMs in europe-west4".to_owned(),
        current: None,
    };
    let m = Mentions::for_input(&input, Catalog::embedded()).expect("known names");
    assert_eq!(values(&m.vm_count), [3]);
    assert_eq!(values(&m.region), ["europe-west4"]);
    assert_eq!(values(&m.gpu_type), ["nvidia-tesla-t4"], "not overridden");
    assert_eq!(values(&m.boot_disk_size_gb), [200], "not overridden");
}

#[test]
fn template_comments_and_urls_state_nothing() {
    let text = "<!-- Example: 4 T4 GPUs in us-west1 -->\nSee https://example.com/v100/8-gpus/us-east1 for context.\nWe need 2 L4 VMs.";
    let m = extract(text);
    assert_eq!(values(&m.vm_count), [2]);
    assert_eq!(values(&m.gpu_type), ["nvidia-l4"]);
    assert!(m.region.is_empty() && m.total_gpus.is_empty(), "{m:?}");
}

#[test]
fn relative_changes_and_zone_letters_become_values_against_the_current_deployment() {
    let mut current = request(5, 1);
    current.zone = "us-west1-b".to_owned();
    let input = |instructions: &str, current: Option<DeploymentRequest>| PlanInput {
        title: "T4 boxes".to_owned(),
        body: "5 VMs with T4 in us-west1".to_owned(),
        instructions: instructions.to_owned(),
        current,
    };
    let m = Mentions::for_input(
        &input("add 2 more VMs", Some(current.clone())),
        Catalog::embedded(),
    )
    .expect("known names");
    assert_eq!(values(&m.vm_count), [7]);
    assert!(m.changes.is_empty(), "applied: {m:?}");
    assert!(
        m.summary()
            .iter()
            .any(|line| line == "vm_count 7 (\"add 2 more vms\")"),
        "the model is told the absolute value: {:?}",
        m.summary()
    );
    assert!(m.check(&request(7, 1)).is_empty());
    assert_eq!(m.check(&request(5, 1)).len(), 1, "5 VMs ignores the change");

    let m = Mentions::for_input(
        &input("halve the VMs", Some(current.clone())),
        Catalog::embedded(),
    )
    .expect("known names");
    let unclear = m.ambiguities();
    assert_eq!(unclear.len(), 1, "5 / 2 is not whole: {m:?}");
    assert!(
        unclear[0].message.contains("not a whole number"),
        "{}",
        unclear[0]
    );

    let m = Mentions::for_input(&input("zone c", Some(current.clone())), Catalog::embedded())
        .expect("known names");
    assert_eq!(values(&m.zone), ["us-west1-c"]);
    assert_eq!(values(&m.region), ["us-west1"], "the issue's region stays");

    let m = Mentions::for_input(&input("double the GPUs", None), Catalog::embedded())
        .expect("known names");
    assert!(
        m.ambiguities()
            .iter()
            .any(|e| e.message.contains("there is none yet")),
        "{m:?}"
    );
}

#[test]
fn places_areas_and_memory_are_mentions_of_their_values() {
    let m = extract("two 80GB A100s in Oregon");
    assert_eq!(values(&m.gpu_type), ["nvidia-a100-80gb"]);
    assert_eq!(values(&m.region), ["us-west1"]);
    assert_eq!(values(&m.vm_count), Vec::<u32>::new());
    assert_eq!(values(&m.total_gpus), [2]);
    let m = extract("A100 with 80GB");
    assert_eq!(values(&m.gpu_type), ["nvidia-a100-80gb"]);
    assert_eq!(m.gpu_type[0].written, "a100 with 80gb");
    let m = extract("somewhere in Europe");
    assert_eq!(m.area.len(), 1);
    assert_eq!(m.area[0].value.name, "Europe");
    let m = extract("at least 40GB VRAM");
    let requirement = &m.gpu_requirement[0].value;
    assert_eq!(requirement.min_memory_gb, Some(40));
    assert_eq!(
        requirement.satisfying,
        ["nvidia-tesla-a100", "nvidia-a100-80gb", "nvidia-h100-80gb"]
    );
}
