//! What platform engineers write besides plain values: places and areas instead of regions,
//! GPU memory and price instead of a GPU name, approximate and ranged counts, people-based
//! counts, relative follow-ups and zone letters. Each phrasing is either planned as stated
//! (and the reading appears in the assumptions) or refused with a message naming the phrase.

use promptops_core::{Catalog, DeploymentRequest, Policy};
use promptops_planner::mentions::Mentions;
use promptops_planner::{OfflinePlanner, PlanError, PlanInput, PlanOutcome};

const T4: &str = "nvidia-tesla-t4";
const L4: &str = "nvidia-l4";
const A100: &str = "nvidia-tesla-a100";
const A100_80: &str = "nvidia-a100-80gb";
const H100: &str = "nvidia-h100-80gb";

fn catalog() -> &'static Catalog {
    Catalog::embedded()
}

fn plan_input(input: &PlanInput) -> Result<PlanOutcome, PlanError> {
    OfflinePlanner::new().plan(input, catalog(), &Policy::default())
}

fn plan(text: &str) -> Result<PlanOutcome, PlanError> {
    plan_input(&PlanInput {
        body: text.to_owned(),
        ..PlanInput::default()
    })
}

/// The deployment the follow-ups edit: 5 VMs with one T4 each in us-west1, 200 GB disks.
fn current() -> DeploymentRequest {
    plan("I need 5 T4 GPUs in us-west1, 200 GB disk")
        .expect("current deployment planned")
        .request
}

fn follow_up(instructions: &str) -> Result<PlanOutcome, PlanError> {
    plan_input(&PlanInput {
        title: "GPUs for inference".to_owned(),
        body: "I need 5 T4 GPUs in us-west1, 200 GB disk".to_owned(),
        instructions: instructions.to_owned(),
        current: Some(current()),
    })
}

/// The expected fields of a plan; `None` is not checked.
#[derive(Default, Clone, Copy)]
struct Want {
    vms: Option<u32>,
    gpu: Option<&'static str>,
    per_vm: Option<u32>,
    /// The zone starts with this: a region and "-", or a whole zone.
    at: Option<&'static str>,
    /// Some assumption contains this text.
    says: Option<&'static str>,
}

const fn want() -> Want {
    Want {
        vms: None,
        gpu: None,
        per_vm: None,
        at: None,
        says: None,
    }
}

impl Want {
    const fn vms(mut self, n: u32) -> Self {
        self.vms = Some(n);
        self
    }
    const fn gpu(mut self, id: &'static str) -> Self {
        self.gpu = Some(id);
        self
    }
    const fn per_vm(mut self, n: u32) -> Self {
        self.per_vm = Some(n);
        self
    }
    const fn at(mut self, location: &'static str) -> Self {
        self.at = Some(location);
        self
    }
    const fn says(mut self, text: &'static str) -> Self {
        self.says = Some(text);
        self
    }

    fn mismatches(&self, request: &DeploymentRequest) -> Vec<String> {
        let mut wrong = Vec::new();
        if self.vms.is_some_and(|v| v != request.vm_count) {
            wrong.push(format!(
                "vm_count {} (want {:?})",
                request.vm_count, self.vms
            ));
        }
        if self.gpu.is_some_and(|g| g != request.gpu_type) {
            wrong.push(format!(
                "gpu_type {} (want {:?})",
                request.gpu_type, self.gpu
            ));
        }
        if self.per_vm.is_some_and(|c| c != request.gpu_count) {
            wrong.push(format!(
                "gpu_count {} (want {:?})",
                request.gpu_count, self.per_vm
            ));
        }
        if self.at.is_some_and(|l| !request.zone.starts_with(l)) {
            wrong.push(format!("zone {} (want {:?})", request.zone, self.at));
        }
        if let Some(text) = self.says
            && !request.assumptions.iter().any(|a| a.contains(text))
        {
            wrong.push(format!(
                "no assumption says {text:?}: {:?}",
                request.assumptions
            ));
        }
        let gpu = catalog().gpu(&request.gpu_type).expect("catalog GPU");
        if !gpu.is_offered_in(&request.zone) {
            wrong.push(format!(
                "{} does not offer {}",
                request.zone, request.gpu_type
            ));
        }
        wrong
    }
}

fn check_all(cases: &[(&str, Want)], run: impl Fn(&str) -> Result<PlanOutcome, PlanError>) {
    let mut failures = Vec::new();
    for (text, want) in cases {
        match run(text) {
            Ok(outcome) => {
                let wrong = want.mismatches(&outcome.request);
                if !wrong.is_empty() {
                    failures.push(format!("{text:?}: {}", wrong.join("; ")));
                }
            }
            Err(err) => failures.push(format!("{text:?}: refused: {err}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} phrasing(s) misread:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn places_instead_of_regions() {
    let cases = [
        (
            "2 T4 VMs in Oregon",
            want()
                .vms(2)
                .gpu(T4)
                .at("us-west1-")
                .says("read as region us-west1"),
        ),
        ("a T4 VM in Iowa", want().at("us-central1-")),
        ("T4 in South Carolina", want().at("us-east1-")),
        ("an L4 in Northern Virginia", want().gpu(L4).at("us-east4-")),
        ("an L4 in virginia", want().gpu(L4).at("us-east4-")),
        ("T4 VMs in the Netherlands", want().at("europe-west4-")),
        ("T4 near Eemshaven", want().at("europe-west4-")),
        ("T4 in Belgium", want().at("europe-west1-")),
        ("two T4 boxes in London", want().vms(2).at("europe-west2-")),
        ("one L4 in Frankfurt", want().gpu(L4).at("europe-west3-")),
        ("T4 in Tokyo", want().at("asia-northeast1-")),
        ("T4 in Seoul", want().at("asia-northeast3-")),
        ("T4 in Singapore", want().at("asia-southeast1-")),
        ("T4 in Taiwan", want().at("asia-east1-")),
        ("L4 in Mumbai", want().gpu(L4).at("asia-south1-")),
        ("T4 in Sydney", want().at("australia-southeast1-")),
        ("T4 in Montréal", want().at("northamerica-northeast1-")),
        ("T4 in Montreal", want().at("northamerica-northeast1-")),
        ("T4 in São Paulo", want().at("southamerica-east1-")),
        ("T4 in Sao Paulo", want().at("southamerica-east1-")),
        // A region's name without its dash: the default region was planned instead.
        (
            "need 2 t4 gpus in uswest1",
            want()
                .vms(2)
                .at("us-west1-")
                .says("\"uswest1\" read as region us-west1"),
        ),
        ("need 2 T4s in us west1", want().vms(2).at("us-west1-")),
    ];
    check_all(&cases, plan);
}

#[test]
fn areas_take_the_first_region_offering_the_gpu_and_say_so() {
    let cases = [
        (
            "3 T4 VMs in Europe",
            want()
                .vms(3)
                .gpu(T4)
                .at("europe-west1-")
                .says("\"europe\" is an area"),
        ),
        (
            "an H100 somewhere in Europe",
            want().gpu(H100).at("europe-west1-"),
        ),
        ("a V100 in Europe", want().at("europe-west4-")),
        ("an A100 in Asia", want().gpu(A100).at("asia-northeast1-")),
        (
            "a T4 in the US",
            want().at("us-central1-").says("\"the us\" is an area"),
        ),
        (
            "an A100 80GB in the U.S.",
            want().gpu(A100_80).at("us-central1-"),
        ),
        (
            "Give us an L4 VM in the US",
            want().gpu(L4).at("us-central1-"),
        ),
        ("Two T4 VMs in the EU", want().vms(2).at("europe-west1-")),
        ("an L4 in Germany", want().gpu(L4).at("europe-west3-")),
        // The coasts were passed over for the default region, us-central1.
        (
            "I want 2 vms. t4. west coast.",
            want()
                .vms(2)
                .at("us-west1-")
                .says("\"west coast\" is an area (us-west1, us-west2)"),
        ),
        (
            "Need 2 T4 VMs on the east coast",
            want().vms(2).at("us-east1-"),
        ),
        ("an L4 on the US West Coast", want().gpu(L4).at("us-west1-")),
        ("an L4, US East Coast", want().gpu(L4).at("us-east")),
        // Passed over for us-central1 too.
        (
            "need 2 t4 gpu machine for 1 week in us west",
            want().vms(2).at("us-west1-"),
        ),
        ("2 T4 VMs in us-west", want().vms(2).at("us-west1-")),
    ];
    check_all(&cases, plan);
    let err = plan("an A100 80GB in Asia Pacific").map(|o| o.request.zone);
    assert_eq!(
        err.ok()
            .as_deref()
            .map(|z| z.starts_with("asia-southeast1-")),
        Some(true)
    );
    let shown = plan("a P100 in South America")
        .expect_err("no P100 there")
        .to_string();
    assert!(
        shown.contains("no region of South America")
            && shown.contains("nvidia-tesla-p100")
            && shown.contains("us-central1"),
        "{shown}"
    );
}

#[test]
fn gpu_memory_and_price_instead_of_a_gpu_name() {
    let cases = [
        ("an A100 with 80GB", want().gpu(A100_80).per_vm(1)),
        ("two 80GB A100 VMs", want().vms(2).gpu(A100_80)),
        (
            "an A100 with 80 GB of memory in us-central1",
            want().gpu(A100_80).at("us-central1-"),
        ),
        ("an A100 with 40GB", want().gpu(A100)),
        (
            "a GPU with 24GB of GPU memory",
            want().gpu(L4).says("at least 24 GB"),
        ),
        (
            "24GB of GPU memory",
            want().gpu(L4).says("cheapest GPU meeting"),
        ),
        ("3 VMs with at least 40GB VRAM", want().vms(3).gpu(A100)),
        (
            "4 GPUs with 24GB each in Europe",
            want().vms(4).per_vm(1).gpu(L4).at("europe-west1-"),
        ),
        ("a VM with 48GB VRAM in us-central1", want().gpu(A100_80)),
        ("a GPU with at least 80GB", want().gpu(A100_80)),
        ("the cheapest GPU", want().gpu(T4).says("cheapest")),
        (
            "the cheapest GPU in Frankfurt",
            want().gpu(T4).at("europe-west3-"),
        ),
        (
            "cheapest GPU with 24GB VRAM in Mumbai",
            want().gpu(L4).at("asia-south1-"),
        ),
        ("16GB VRAM T4, 2 instances", want().vms(2).gpu(T4)),
        (
            "A100s, 2 VMs. The A100 should have 80GB",
            want().vms(2).gpu(A100_80),
        ),
        ("T4 with 64GB RAM", want().gpu(T4)),
        ("2 A100 GPUs with 80GB", want().gpu(A100_80).vms(2)),
        ("a machine with 32GB memory and a T4", want().gpu(T4)),
    ];
    check_all(&cases, plan);
}

#[test]
fn counts_that_are_approximate_ranged_or_per_person() {
    let cases = [
        ("about 4 T4 VMs", want().vms(4).says("an approximation")),
        ("~4 T4 VMs", want().vms(4).says("an approximation")),
        ("roughly 6 machines with L4", want().vms(6).gpu(L4)),
        ("at least 3 T4 VMs", want().vms(3).says("a minimum")),
        ("3-5 T4 VMs", want().vms(3).says("lower bound")),
        ("3 to 5 VMs with T4", want().vms(3).says("lower bound")),
        ("between 3 and 5 VMs", want().vms(3)),
        ("3–5 VMs", want().vms(3)),
        ("2 or 3 L4 machines", want().vms(2).gpu(L4)),
        ("2-4 T4 GPUs per VM, 2 VMs", want().vms(2).per_vm(2)),
        (
            "5 users each with a T4 VM",
            want().vms(5).gpu(T4).per_vm(1).says("5 VMs"),
        ),
        (
            "3 developers, each gets 2 VMs with L4",
            want().vms(6).gpu(L4),
        ),
        ("4 students each with a T4", want().vms(4).per_vm(1).gpu(T4)),
        // What each gets before "each", or before "per person": each was planned at 1 VM.
        (
            "10 people need a T4 each",
            want().vms(10).per_vm(1).gpu(T4).says("10 VMs"),
        ),
        (
            "one T4 per person, 4 people",
            want()
                .vms(4)
                .per_vm(1)
                .gpu(T4)
                .says("\"one t4 per person 4 people\" read as one VM each"),
        ),
        (
            "2 L4 GPUs for each developer, 3 developers",
            want().vms(3).per_vm(2).gpu(L4),
        ),
        ("a T4 VM per user for 5 users", want().vms(5).gpu(T4)),
        // "each" further on in the sentence: planned at 1 VM.
        (
            "a GPU like a 3090 for 2 students in us-central1, one VM each",
            want().vms(2).per_vm(1),
        ),
        ("2 VMs, 2 GPUs per VM, T4", want().vms(2).per_vm(2)),
        ("3 VMs with 2 T4s each", want().vms(3).per_vm(2).gpu(T4)),
        ("upgrade to 4 GPUs, T4", want().vms(1).per_vm(4)),
        ("scale from 2 to 4 T4 VMs", want().vms(4)),
        (
            "3 T4 VMs, budget US$20 per hour, in Europe",
            want().vms(3).at("europe-west1-"),
        ),
    ];
    check_all(&cases, plan);
}

#[test]
fn follow_ups_change_only_what_they_name() {
    let base = current();
    assert_eq!(
        (base.vm_count, base.gpu_count, base.region()),
        (5, 1, "us-west1")
    );
    let cases = [
        (
            "add 2 more VMs",
            want().vms(7).per_vm(1).gpu(T4).at("us-west1-").says("so 7"),
        ),
        ("add 2 VMs", want().vms(7)),
        ("add another VM", want().vms(6)),
        // "Another" with no noun counts what was named before it.
        (
            "these VMs work well; we need one more like them",
            want().vms(6),
        ),
        ("2 more VMs please", want().vms(7)),
        ("one less VM", want().vms(4).gpu(T4)),
        ("one fewer VM", want().vms(4)),
        ("remove 1 VM", want().vms(4)),
        ("drop two nodes", want().vms(3)),
        ("double the GPUs", want().vms(5).per_vm(2).gpu(T4)),
        ("double the number of VMs", want().vms(10)),
        (
            "upgrade to 4 GPUs",
            want().vms(5).per_vm(4).gpu(T4).says("GPUs per VM"),
        ),
        ("add 1 more GPU per VM", want().vms(5).per_vm(2)),
        // Each was ignored and the deployment planned unchanged, or "50%" read as 50 VMs.
        ("2x the VMs", want().vms(10).says("so 10")),
        ("T4 -> L4", want().vms(5).gpu(L4)),
        ("rename to infer-2", want().vms(5)),
        ("switch to L4", want().vms(5).gpu(L4).at("us-west1-")),
        (
            "move to europe-west4",
            want().vms(5).gpu(T4).at("europe-west4-"),
        ),
        (
            "move it to the Netherlands",
            want().vms(5).at("europe-west4-"),
        ),
        ("move to Europe", want().vms(5).at("europe-west1-")),
        ("zone a", want().vms(5).at("us-west1-a")),
        (
            "switch to the cheapest GPU with 24GB",
            want().vms(5).gpu(L4).at("us-west1-"),
        ),
    ];
    check_all(&cases, follow_up);
    // Two changes of one count: each read against the deployment gave 6 VMs, and 6 was
    // planned. Whether they add up or one repeats the other is not said.
    let twice = follow_up("we need another VM like them, and another in the same zone")
        .expect_err("two changes of the VM count");
    assert!(
        twice
            .to_string()
            .contains("\"another vm\" and \"another\" each change the vm_count"),
        "{twice}"
    );
    let kept = follow_up("add 2 more VMs").expect("planned").request;
    assert_eq!((kept.name, kept.boot_disk_size_gb), (base.name, 200));
}

#[test]
fn zone_letters_with_a_region() {
    let cases = [
        (
            "a T4 in us-west1 zone b",
            want().at("us-west1-b").says("zone us-west1-b"),
        ),
        (
            "L4 in europe-west4, zone c",
            want().gpu(L4).at("europe-west4-c"),
        ),
        ("T4, Oregon, zone a", want().at("us-west1-a")),
    ];
    check_all(&cases, plan);
}

/// Refusals name the phrase and say what to write instead.
#[test]
fn unclear_or_unknown_phrasings_are_refused_with_what_to_write() {
    let cases: [(&str, &[&str]); 13] = [
        (
            "a T4 in Zurich",
            &[
                "\"zurich\"",
                "europe-west6",
                "does not offer",
                "known regions",
            ],
        ),
        ("T4 VMs in Finland", &["europe-north1", "known regions"]),
        ("T4 in Zürich", &["europe-west6"]),
        (
            "T4 in mars-north1",
            &["mars-north1", "known regions", "us-west1"],
        ),
        ("T4 in moon-central2", &["moon-central2", "known regions"]),
        ("T4 in us-mars1", &["us-mars1", "known regions"]),
        ("T4 in mars-north1-a", &["mars-north1-a", "known regions"]),
        (
            "add 2 more VMs",
            &["add 2 more vms", "there is none yet", "3 VMs"],
        ),
        ("a T4 VM in zone b", &["zone b", "full zone"]),
        (
            "an H100 in us-west1 zone c",
            &["us-west1-c", "zones of us-west1 offering it: us-west1-a"],
        ),
        ("a T4 with 24GB", &["t4 with 24gb", "16 GB", "nvidia-l4"]),
        ("a GPU with 200GB of VRAM", &["200gb", "the most is 80 GB"]),
        (
            "a T4 in us-west1 zone q",
            &["us-west1-q", "its zones: us-west1-a"],
        ),
    ];
    let mut failures = Vec::new();
    for (text, needles) in cases {
        match plan(text) {
            Ok(outcome) => failures.push(format!("{text:?}: planned {:?}", outcome.request)),
            Err(err) => {
                let shown = err.to_string();
                for needle in needles {
                    if !shown.contains(needle) {
                        failures.push(format!("{text:?}: {needle:?} missing from:\n{shown}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let err = follow_up("add 2 more GPUs").expect_err("per VM or total?");
    assert!(err.to_string().contains("2 more GPUs per VM"), "{err}");
    let err = follow_up("remove 5 VMs").expect_err("nothing left");
    assert!(err.to_string().contains("/promptops destroy"), "{err}");
    let err = plan("a T4 in Oregon or us-central1").expect_err("two regions");
    assert!(matches!(err, PlanError::AmbiguousMention(_)), "{err:?}");
    let err = plan("T4 in Europe, us-west1").expect_err("region outside the area");
    assert!(err.to_string().contains("not in Europe"), "{err}");
}

/// `check` holds any planner (the model one too) to the described values.
#[test]
fn mentions_of_descriptions_hold_the_plan_to_them() {
    let request = |gpu: &str, zone: &str, vms: u32| DeploymentRequest {
        name: "demo".to_owned(),
        vm_count: vms,
        gpu_type: gpu.to_owned(),
        gpu_count: 1,
        machine_type: "n1-standard-4".to_owned(),
        zone: zone.to_owned(),
        boot_disk_size_gb: 100,
        rationale: String::new(),
        assumptions: Vec::new(),
    };
    let m = Mentions::extract("80GB A100 in Oregon", catalog()).expect("known");
    assert_eq!(m.gpu_type[0].value, A100_80);
    assert_eq!(m.region[0].value, "us-west1");
    let errors = m.check(&request(A100, "us-central1-a", 1));
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["gpu_type", "region"], "{errors:?}");
    assert!(
        errors[1].message.contains("\"oregon\""),
        "{}",
        errors[1].message
    );

    let m =
        Mentions::extract("3-5 VMs in Europe with 24GB of GPU memory", catalog()).expect("known");
    assert!(m.check(&request(L4, "europe-west4-a", 4)).is_empty());
    assert!(m.check(&request(A100, "europe-west4-a", 5)).is_empty());
    let errors = m.check(&request(T4, "us-west1-b", 6));
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["vm_count", "region", "gpu_type"], "{errors:?}");
    let summary = m.summary().join("\n");
    assert!(summary.contains("vm_count from 3 to 5"), "{summary}");
    assert!(summary.contains("one of europe-west1"), "{summary}");
}

/// The whole plan text for descriptive requests, reviewed as a snapshot: the readings and
/// choices are stated in the assumptions in words a reviewer can check.
#[test]
fn descriptive_plans_state_their_readings() {
    let mut shown = String::new();
    for (text, edit) in [
        ("about 3 VMs with 24GB of GPU memory in Europe", false),
        ("5 users each with a T4 VM in Oregon, zone b", false),
        ("3-5 VMs with an 80GB A100 each in Iowa", false),
        ("add 2 more VMs and double the GPUs", true),
    ] {
        let outcome = if edit { follow_up(text) } else { plan(text) }.expect("planned");
        let request = &outcome.request;
        shown.push_str(&format!(
            "## {text}\n{} VMs x {} {} on {} in {}, {} GB disk\n{}\n",
            request.vm_count,
            request.gpu_count,
            request.gpu_type,
            request.machine_type,
            request.zone,
            request.boot_disk_size_gb,
            request.rationale
        ));
        for assumption in &request.assumptions {
            shown.push_str(&format!("- {assumption}\n"));
        }
        shown.push('\n');
    }
    insta::assert_snapshot!(shown);
}
