//! The offline planner over many phrasings: explicit values are honoured, the rest comes
//! from catalog defaults through the same validation as the model planner.

use promptops_core::{Catalog, DeploymentRequest, Policy};
use promptops_planner::{
    OFFLINE_PLANNER, OfflinePlanner, PlanError, PlanInput, PlanOutcome, Planner, PlannerSettings,
};

fn catalog() -> &'static Catalog {
    Catalog::embedded()
}

fn plan_text(text: &str) -> Result<PlanOutcome, PlanError> {
    let input = PlanInput {
        body: text.to_owned(),
        ..PlanInput::default()
    };
    OfflinePlanner::new().plan(&input, catalog(), &Policy::default())
}

fn plan_ok(text: &str) -> DeploymentRequest {
    match plan_text(text) {
        Ok(outcome) => outcome.request,
        Err(err) => panic!("{text:?} was not planned:\n{err}"),
    }
}

/// What a phrasing must produce; `None` = not checked (a default applies).
struct Expect {
    text: &'static str,
    vm_count: Option<u32>,
    gpu_type: Option<&'static str>,
    gpu_count: Option<u32>,
    /// The zone must start with this (a region followed by "-", or a full zone).
    location: Option<&'static str>,
    machine_type: Option<&'static str>,
    disk_gb: Option<u32>,
}

const fn case(text: &'static str) -> Expect {
    Expect {
        text,
        vm_count: None,
        gpu_type: None,
        gpu_count: None,
        location: None,
        machine_type: None,
        disk_gb: None,
    }
}

impl Expect {
    const fn vms(mut self, n: u32) -> Self {
        self.vm_count = Some(n);
        self
    }
    const fn gpu(mut self, id: &'static str) -> Self {
        self.gpu_type = Some(id);
        self
    }
    const fn per_vm(mut self, n: u32) -> Self {
        self.gpu_count = Some(n);
        self
    }
    const fn at(mut self, location: &'static str) -> Self {
        self.location = Some(location);
        self
    }
    const fn machine(mut self, name: &'static str) -> Self {
        self.machine_type = Some(name);
        self
    }
    const fn disk(mut self, gb: u32) -> Self {
        self.disk_gb = Some(gb);
        self
    }
}

const T4: &str = "nvidia-tesla-t4";
const L4: &str = "nvidia-l4";
const V100: &str = "nvidia-tesla-v100";
const P4: &str = "nvidia-tesla-p4";
const A100: &str = "nvidia-tesla-a100";
const A100_80: &str = "nvidia-a100-80gb";
const H100: &str = "nvidia-h100-80gb";

fn cases() -> Vec<Expect> {
    vec![
        case("I need 5 T4 GPUs in us-west1")
            .vms(5)
            .gpu(T4)
            .per_vm(1)
            .at("us-west1-"),
        case("five machines with T4s in us-central1")
            .vms(5)
            .gpu(T4)
            .at("us-central1-"),
        case("3 instances with 2 GPUs each, L4, europe-west4")
            .vms(3)
            .gpu(L4)
            .per_vm(2)
            .at("europe-west4-"),
        case("2 VMs with 4 V100 GPUs per VM in us-central1-a")
            .vms(2)
            .gpu(V100)
            .per_vm(4)
            .at("us-central1-a"),
        case("one A100 80GB machine in us-central1")
            .vms(1)
            .gpu(A100_80)
            .per_vm(1),
        case("Two a100-80gb VMs please").vms(2).gpu(A100_80),
        case("an H100 VM").vms(1).gpu(H100),
        case("n1-standard-8 with 2 T4s in us-west1-b")
            .vms(1)
            .gpu(T4)
            .per_vm(2)
            .machine("n1-standard-8")
            .at("us-west1-b"),
        case("a2-highgpu-2g in us-central1")
            .vms(1)
            .gpu(A100)
            .per_vm(2)
            .machine("a2-highgpu-2g"),
        case("4 VMs, 200GB disk, T4").vms(4).gpu(T4).disk(200),
        case("3 x L4 with a 500 GB boot disk")
            .vms(3)
            .gpu(L4)
            .per_vm(1)
            .disk(500),
        case("twenty T4 VMs").vms(20).gpu(T4),
        case("twelve nodes with 1 T4 each")
            .vms(12)
            .gpu(T4)
            .per_vm(1),
        case("Need 2 GPUs/VM, 3 VMs, V100")
            .vms(3)
            .gpu(V100)
            .per_vm(2),
        case("a 4-GPU T4 machine").vms(1).gpu(T4).per_vm(4),
        case("2x A100 per VM, 2 VMs").vms(2).gpu(A100).per_vm(2),
        case("10 GPUs").vms(10).gpu(T4).per_vm(1),
        case("T4 box with a boot disk of 1 TB").gpu(T4).disk(1000),
        case("I want a VM").vms(1).gpu(T4).per_vm(1),
        case("6 T4 GPUs across 3 VMs").vms(3).gpu(T4).per_vm(2),
        case("4 VMs with 2 GPUs").vms(4).per_vm(2),
        case("Please deploy 3 servers in europe-west4-a with nvidia tesla v100")
            .vms(3)
            .gpu(V100)
            .at("europe-west4-a"),
        case("2 VMs x 4 GPUs (T4)").vms(2).gpu(T4).per_vm(4),
        case("eleven Tesla T4 instances, disk size 300gb")
            .vms(11)
            .gpu(T4)
            .disk(300),
        case("Inference cluster: 8 L4 GPUs in total, 2 per VM, asia-southeast1")
            .vms(4)
            .gpu(L4)
            .per_vm(2)
            .at("asia-southeast1-"),
        case("A couple of T4 VMs").vms(2).gpu(T4),
        case("half a dozen T4 machines").vms(6).gpu(T4),
        // 24 VMs would pass the policy's 20: the fewest GPUs per VM that fits is 2.
        case("two dozen T4 GPUs").vms(12).per_vm(2).gpu(T4),
        case("a single H100 instance in us-central1 with 1000 GB disk")
            .vms(1)
            .gpu(H100)
            .disk(1000),
        case("We need 4 H100s").vms(4).per_vm(1).gpu(H100),
        case("fifteen vms, each with two T4 GPUs, 64 GB RAM")
            .vms(15)
            .gpu(T4)
            .per_vm(2),
        case("Set up seven p4 boxes in us-central1")
            .vms(7)
            .gpu(P4)
            .at("us-central1-"),
        case("Can I get 3 GPU machines with T4?").vms(3).gpu(T4),
        case("Region: us-central1\nGPUs per VM: 2\nVMs: 3\nGPU: L4\nDisk: 250 GB")
            .vms(3)
            .per_vm(2)
            .gpu(L4)
            .at("us-central1-")
            .disk(250),
        case("vm_count = 4, gpu_count = 2, gpu: T4")
            .vms(4)
            .per_vm(2)
            .gpu(T4),
        case("number of VMs: 6 (T4)").vms(6).gpu(T4),
        case("3 x n1-standard-8 with 1 T4")
            .vms(3)
            .per_vm(1)
            .machine("n1-standard-8")
            .gpu(T4),
        case("1 machine w/ 8 A100s")
            .vms(1)
            .per_vm(8)
            .gpu(A100)
            .machine("a2-highgpu-8g"),
        case("8x H100 node in us-central1")
            .vms(1)
            .per_vm(8)
            .gpu(H100),
        case("10 T4 GPUs across 5 VMs").vms(5).per_vm(2).gpu(T4),
        case("two g2-standard-24 machines")
            .vms(2)
            .machine("g2-standard-24")
            .gpu(L4)
            .per_vm(2),
        case("16GB VRAM T4, 2 instances, budget $5/hour")
            .vms(2)
            .gpu(T4),
        case("Please create six T4 nodes (1 GPU per node) in us-west1.")
            .vms(6)
            .per_vm(1)
            .gpu(T4),
        case("Hi team, for the Q3 launch we need 4 GPU servers (NVIDIA L4) in europe-west1. Each should have 1 GPU and a 150GB disk.")
            .vms(4).gpu(L4).per_vm(1).at("europe-west1-").disk(150),
        case("Requesting 2x n1-standard-16 VMs w/ 4x T4 each, us-central1-c, 500GB boot.")
            .vms(2).gpu(T4).per_vm(4).machine("n1-standard-16").at("us-central1-c").disk(500),
        case("Please provision 12 V100 GPUs (3 VMs) in us-central1").vms(3).per_vm(4).gpu(V100),
        case("We want to fine-tune a 13B model. One A100-80GB box should be enough.").vms(1).gpu(A100_80),
        case("3 VMs in asia-northeast1 with T4, version 2 of our app, python 3.11").vms(3).gpu(T4).per_vm(1),
        case("T4 x2").vms(2).per_vm(1).gpu(T4),
        case("I NEED 4 T4 GPUS IN US-EAST1")
            .vms(4)
            .gpu(T4)
            .at("us-east1-"),
        case("Spin up 2 NVIDIA L4 GPU VMs in us-central1-b")
            .vms(2)
            .gpu(L4)
            .at("us-central1-b"),
    ]
}

#[test]
fn phrasings_become_the_stated_values() {
    let mut failures = Vec::new();
    for expect in cases() {
        let request = match plan_text(expect.text) {
            Ok(outcome) => outcome.request,
            Err(err) => {
                failures.push(format!("{:?}: rejected: {err}", expect.text));
                continue;
            }
        };
        let mut check = |what: &str, ok: bool| {
            if !ok {
                failures.push(format!("{:?}: wrong {what}: {request:?}", expect.text));
            }
        };
        check(
            "vm_count",
            expect.vm_count.is_none_or(|v| request.vm_count == v),
        );
        check(
            "gpu_type",
            expect.gpu_type.is_none_or(|g| request.gpu_type == g),
        );
        check(
            "gpu_count",
            expect.gpu_count.is_none_or(|c| request.gpu_count == c),
        );
        check(
            "zone",
            expect.location.is_none_or(|l| request.zone.starts_with(l)),
        );
        check(
            "machine_type",
            expect
                .machine_type
                .is_none_or(|m| request.machine_type == m),
        );
        check(
            "boot disk",
            expect
                .disk_gb
                .is_none_or(|d| request.boot_disk_size_gb == d),
        );
        let gpu = catalog()
            .gpu(&request.gpu_type)
            .expect("the plan's GPU is in the catalog");
        check("zone offering the GPU", gpu.is_offered_in(&request.zone));
    }
    assert!(
        failures.is_empty(),
        "{} phrasing(s) misread:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn done_means_example_five_t4_in_us_west1() {
    let outcome = plan_text("I need 5 T4 GPUs in us-west1").expect("planned");
    let request = &outcome.request;
    assert_eq!(request.vm_count, 5);
    assert_eq!(request.gpu_type, "nvidia-tesla-t4");
    assert_eq!(request.gpu_count, 1);
    assert_eq!(request.region(), "us-west1");
    assert!(
        catalog()
            .zones_offering("nvidia-tesla-t4")
            .contains(&request.zone.as_str())
    );
    assert_eq!(outcome.planned_by, OFFLINE_PLANNER);
    assert!(outcome.usage.is_none());
    assert!(
        request.rationale.contains("offline"),
        "{}",
        request.rationale
    );
    assert!(
        request
            .assumptions
            .iter()
            .any(|a| a.contains("machine_type")),
        "assumptions list the defaulted machine type: {:?}",
        request.assumptions
    );
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("5 GPUs in total read as 5 VM(s) x 1 GPU(s)")),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn done_means_example_renders_to_tfvars_that_parse_back() {
    let outcome = plan_text("I need 5 T4 GPUs in us-west1").expect("planned");
    let context = promptops_core::RenderContext {
        source: "command line".to_owned(),
        planner: outcome.planned_by.clone(),
    };
    let text = promptops_core::render_tfvars(&outcome.request, &context);
    let values = promptops_core::parse_tfvars(&text).expect("the rendered tfvars parse");
    assert_eq!(values.vm_count, 5);
    assert_eq!(values.gpu_type, "nvidia-tesla-t4");
    assert!(values.zone.starts_with("us-west1-"), "{}", values.zone);
    assert!(
        catalog()
            .zones_offering("nvidia-tesla-t4")
            .contains(&values.zone.as_str())
    );
    assert!(
        text.contains("offline planner"),
        "the header says it was planned offline:\n{text}"
    );
}

#[test]
fn a_total_is_split_into_the_fewest_gpus_per_vm_the_policy_allows() {
    let policy = Policy {
        max_vms: 4,
        max_hourly_usd: 1_000.0,
        ..Policy::default()
    };
    let input = PlanInput {
        body: "We need 16 H100s in us-central1 for training".to_owned(),
        ..PlanInput::default()
    };
    let request = OfflinePlanner::new()
        .plan(&input, catalog(), &policy)
        .expect("planned")
        .request;
    assert_eq!((request.vm_count, request.gpu_count), (4, 4));
    assert_eq!(request.machine_type, "a3-highgpu-4g");

    // Under the default policy the same request is over the hourly budget, and says so.
    let shown = rejection("We need 16 H100s in us-central1 for training").to_string();
    assert!(shown.contains("max_hourly_usd"), "{shown}");
}

#[test]
fn without_a_key_the_planner_enum_is_offline() {
    let planner = Planner::from_settings(PlannerSettings::default());
    assert!(matches!(planner, Planner::Offline(_)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let input = PlanInput {
        body: "2 L4 VMs".to_owned(),
        ..PlanInput::default()
    };
    let outcome = runtime
        .block_on(planner.plan(&input, catalog(), &Policy::default()))
        .expect("planned");
    assert_eq!(outcome.request.vm_count, 2);
    assert_eq!(outcome.request.gpu_type, L4);
    assert_eq!(outcome.planned_by, "offline planner");
}

fn rejection(text: &str) -> PlanError {
    match plan_text(text) {
        Ok(outcome) => panic!("{text:?} should be refused, got {:?}", outcome.request),
        Err(err) => err,
    }
}

#[test]
fn unknown_names_are_errors_that_say_so() {
    let cases = [
        ("5 T4 in us-west9", "us-west9", "region"),
        ("RTX 5090 in us-west1", "rtx 5090", "not in the catalog"),
        ("4 K80 GPUs", "k80", "not in the catalog"),
        ("two T4s in us-west1-z", "us-west1-z", "zones in us-west1"),
        ("T4 on n1-standard-7", "n1-standard-7", "machine type"),
        (
            "T4 in eu-central-1",
            "eu-central-1",
            "not a Google Cloud region",
        ),
        // Spelled like AWS's us-east-1 (Virginia): the region spelled alike is named.
        (
            "T4 in us-east-1",
            "us-east-1",
            "the Google Cloud region spelled alike is us-east1 (South Carolina)",
        ),
        // Passed over for the default region without a word.
        ("T4 in europe-west-9", "europe-west-9", "not in the catalog"),
        ("8 A40 GPUs", "a40", "offered GPUs"),
    ];
    for (text, named, says) in cases {
        let err = rejection(text);
        assert!(
            matches!(err, PlanError::UnknownMention(_)),
            "{text:?}: {err:?}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains(named) && shown.contains(says),
            "{text:?}: {shown}"
        );
    }
}

#[test]
fn unknown_region_lists_the_known_ones() {
    let shown = rejection("3 T4 VMs in europe-west9").to_string();
    assert!(shown.contains("europe-west9"), "{shown}");
    assert!(
        shown.contains("us-west1") && shown.contains("europe-west4"),
        "{shown}"
    );
}

#[test]
fn two_different_values_for_one_setting_are_ambiguous() {
    for text in [
        "5 VMs or maybe 3 VMs with T4",
        "T4 in us-west1 or us-central1",
        "an L4 or a T4 VM",
    ] {
        let err = rejection(text);
        assert!(
            matches!(err, PlanError::AmbiguousMention(_)),
            "{text:?}: {err:?}"
        );
        assert!(err.to_string().contains("more than one"), "{text:?}: {err}");
    }
    let err = rejection("T4 in us-west1, zone us-central1-a");
    assert!(err.to_string().contains("not in region us-west1"), "{err}");
    let err = rejection("5 GPUs in total on 2 VMs");
    assert!(
        err.to_string()
            .contains("cannot be spread evenly over 2 VMs"),
        "{err}"
    );
    // "x1" after the GPU most likely meant one on each VM: the refusal says how to write it.
    let err = rejection("t4 x1 on 2 vms");
    assert!(
        err.to_string().contains(
            "1 GPU in total cannot be spread evenly over 2 VMs; for 1 on each VM write \"1 GPU per VM\""
        ),
        "{err}"
    );
}

#[test]
fn catalog_and_policy_problems_are_rejected_with_reasons() {
    let err = rejection("a V100 in asia-south1");
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("nvidia-tesla-v100"), "{err}");

    let err = rejection("50 T4 VMs");
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("vm_count"), "{err}");

    let err = rejection("T4 on a2-highgpu-1g");
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
}

fn current_deployment() -> DeploymentRequest {
    plan_ok("I need 5 T4 GPUs in us-west1, 200 GB disk")
}

fn edit(instructions: &str) -> DeploymentRequest {
    let current = current_deployment();
    let input = PlanInput {
        title: "GPUs for inference".to_owned(),
        body: "I need 5 T4 GPUs in us-west1, 200 GB disk".to_owned(),
        instructions: instructions.to_owned(),
        current: Some(current),
    };
    match OfflinePlanner::new().plan(&input, catalog(), &Policy::default()) {
        Ok(outcome) => outcome.request,
        Err(err) => panic!("edit {instructions:?} failed:\n{err}"),
    }
}

#[test]
fn edits_keep_what_the_comment_does_not_change() {
    let current = current_deployment();
    let same = edit("");
    assert_eq!(
        (
            &same.name,
            same.vm_count,
            &same.gpu_type,
            &same.zone,
            same.boot_disk_size_gb
        ),
        (
            &current.name,
            current.vm_count,
            &current.gpu_type,
            &current.zone,
            current.boot_disk_size_gb
        )
    );

    let fewer = edit("use 3 VMs instead");
    assert_eq!(fewer.vm_count, 3);
    assert_eq!(
        (&fewer.name, &fewer.zone, fewer.boot_disk_size_gb),
        (&current.name, &current.zone, 200)
    );
    assert!(
        fewer
            .assumptions
            .iter()
            .any(|a| a.contains("kept from the current deployment"))
    );

    let l4 = edit("switch to L4");
    assert_eq!(l4.gpu_type, L4);
    assert_eq!(l4.vm_count, 5);
    assert_eq!(l4.region(), "us-west1");
    assert!(l4.machine_type.starts_with("g2-"), "{}", l4.machine_type);
    assert_eq!(l4.name, current.name);

    let moved = edit("move it to europe-west4");
    assert_eq!(moved.region(), "europe-west4");
    assert_eq!(moved.vm_count, 5);
    assert_eq!(moved.gpu_type, T4);

    let doubled = edit("make it 2 GPUs per VM");
    assert_eq!((doubled.vm_count, doubled.gpu_count), (5, 2));
    assert_eq!(doubled.machine_type, "n1-standard-8");
}

/// Phrasings the offline planner still does not understand: they yield no explicit value
/// (and so nothing is held against the plan); listed in the crate documentation. Relative
/// changes, places, memory sizes, ranges and zone letters are read now (offline_phrasings.rs),
/// as are vCPUs and RAM (machine_sizes.rs),
/// and "a VM per team" with no number of teams is refused (counts_in_prose.rs).
#[test]
fn descriptive_phrasings_without_a_value_state_nothing() {
    use promptops_planner::mentions::Mentions;
    for text in [
        "p99 latency under 100 ms",
        "for 2 weeks",
        "an instance for each of our users",
        "give us a hand",
        "the zone of interest",
        "the cheapest option",
    ] {
        let mentions = Mentions::extract(text, catalog()).expect("no unknown names");
        assert!(
            mentions.is_empty(),
            "{text:?} unexpectedly read as {mentions:?}"
        );
    }
}
