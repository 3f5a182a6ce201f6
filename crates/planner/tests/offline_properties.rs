//! Properties of the offline planner: stated counts survive for every combination, and
//! whatever the text, a plan it returns is valid and matches every explicit value.

use promptops_core::{Catalog, Policy};
use promptops_planner::mentions::Mentions;
use promptops_planner::{OfflinePlanner, PlanInput};
use proptest::prelude::*;

const WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

fn plan(text: &str) -> Result<promptops_core::DeploymentRequest, promptops_planner::PlanError> {
    let input = PlanInput {
        body: text.to_owned(),
        ..PlanInput::default()
    };
    OfflinePlanner::new()
        .plan(&input, Catalog::embedded(), &Policy::default())
        .map(|outcome| outcome.request)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stated_vm_and_per_vm_counts_survive(
        vms in 1u32..=12,
        per_vm in prop::sample::select(vec![1u32, 2, 4]),
        in_words in any::<bool>(),
        region in prop::sample::select(vec!["us-west1", "us-central1", "europe-west4", "asia-east1"]),
        shape in 0usize..4,
    ) {
        let count = if in_words { WORDS[vms as usize].to_owned() } else { vms.to_string() };
        let text = match shape {
            0 => format!("{count} VMs with {per_vm} T4 GPUs each in {region}"),
            1 => format!("I need {count} machines in {region}, {per_vm} T4s per VM"),
            2 => format!("{region}: {count} instances, each with {per_vm} nvidia t4 gpus"),
            _ => format!("Please create {count} T4 nodes ({per_vm} GPUs per node) in {region}."),
        };
        let request = plan(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(request.vm_count, vms, "{}", text);
        prop_assert_eq!(request.gpu_count, per_vm, "{}", text);
        prop_assert_eq!(request.gpu_type.as_str(), "nvidia-tesla-t4");
        prop_assert_eq!(request.region(), region);
    }

    #[test]
    fn a_total_is_always_split_consistently(total in 1u32..=20, in_words in any::<bool>()) {
        let count = if in_words { WORDS[total as usize].to_owned() } else { total.to_string() };
        let text = format!("I need {count} T4 GPUs in us-west1");
        let request = plan(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(request.vm_count * request.gpu_count, total);
        prop_assert_eq!(request.gpu_count, 1, "one GPU per VM while the policy allows the VMs");
    }

    #[test]
    fn any_plan_returned_is_valid_and_honours_the_text(
        words in prop::collection::vec(
            prop::sample::select(vec![
                "5", "two", "a", "VMs", "machines", "GPUs", "each", "per", "VM", "with", "T4", "L4",
                "A100", "80GB", "v100", "us-west1", "europe-west4", "us-central1-a", "n1-standard-8",
                "g2-standard-8", "200GB", "disk", "boot", "in", "and", ",", ".", "total", "x", "4",
            ]),
            0..14,
        ),
    ) {
        let text = words.join(" ");
        if let Ok(request) = plan(&text) {
            let catalog = Catalog::embedded();
            prop_assert!(request.validate(catalog, &Policy::default()).is_ok(), "{text:?}: {request:?}");
            let mentions = Mentions::extract(&text, catalog).expect("planned, so no unknown names");
            prop_assert!(mentions.check(&request).is_empty(), "{text:?}: {request:?}");
        }
    }
}

fn mixed_case(text: &str, upper: &[bool]) -> String {
    text.chars()
        .zip(upper.iter().cycle())
        .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// Other clouds' names that the screening refuses wherever they stand.
const OTHER_CLOUDS: [&str; 8] = [
    "aws",
    "amazon",
    "ec2",
    "azure",
    "oci",
    "digitalocean",
    "coreweave",
    "runpod",
];

const DIRECTIONS: [&str; 9] = [
    "central",
    "east",
    "west",
    "north",
    "south",
    "northeast",
    "southeast",
    "northwest",
    "southwest",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every catalog region and place is recognised however it is capitalised.
    #[test]
    fn any_catalog_region_or_place_in_any_case_is_recognised(
        index in 0usize..200,
        upper in prop::collection::vec(any::<bool>(), 40),
        as_place in any::<bool>(),
    ) {
        let catalog = Catalog::embedded();
        let names: Vec<(String, String)> = catalog
            .region_list()
            .iter()
            .flat_map(|r| {
                let mut names = vec![(r.name.clone(), r.name.clone())];
                if as_place {
                    names = r.places.iter().map(|p| (p.clone(), r.name.clone())).collect();
                }
                names
            })
            .collect();
        let (name, region) = &names[index % names.len()];
        let text = format!("I need a T4 VM in {}, please", mixed_case(name, &upper));
        let mentions = Mentions::extract(&text, catalog)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let read: Vec<&str> = mentions.region.iter().map(|m| m.value.as_str()).collect();
        prop_assert_eq!(read, vec![region.as_str()], "{}", text);
    }

    /// Any token shaped like a region or zone that the catalog lacks is refused, naming the
    /// token and listing the known regions; never planned in the default region.
    #[test]
    fn region_shaped_names_outside_the_catalog_are_errors(
        geography in prop_oneof![
            "[a-z]{2,9}".prop_map(|g| (g, true)),
            prop::sample::select(vec!["us", "europe", "asia", "africa", "me"]).prop_map(|g| (g.to_owned(), false)),
        ],
        invented in "[a-z]{3,8}",
        direction in prop::sample::select(DIRECTIONS.to_vec()),
        number in 1u32..=99,
        zone in prop::option::of("[a-z]"),
        upper in prop::collection::vec(any::<bool>(), 40),
    ) {
        let (geography, with_direction) = geography;
        let middle = if with_direction { direction.to_owned() } else { invented };
        let mut name = format!("{geography}-{middle}{number}");
        if let Some(letter) = &zone {
            name = format!("{name}-{letter}");
        }
        let catalog = Catalog::embedded();
        prop_assume!(!catalog.is_known_region(&name) && !catalog.is_known_zone(&name));
        // "in oci-central1" asks for another cloud, and is refused as such.
        prop_assume!(!OTHER_CLOUDS.contains(&geography.as_str()));
        let text = format!("2 T4 VMs in {}", mixed_case(&name, &upper));
        match plan(&text) {
            Ok(request) => prop_assert!(false, "{:?} was planned in {}", text, request.zone),
            Err(err) => {
                prop_assert!(matches!(err, promptops_planner::PlanError::UnknownMention(_)), "{:?}: {:?}", text, err);
                let shown = err.to_string();
                prop_assert!(shown.contains(&name), "{}", shown);
                let region_known = zone.is_some() && catalog.is_known_region(name.rsplit_once('-').map_or("", |(r, _)| r));
                let lists = if region_known { "zones in" } else { "known regions: " };
                prop_assert!(shown.contains(lists), "{}", shown);
            }
        }
    }

    /// A range is planned at its lower bound and every value of it satisfies the mentions.
    #[test]
    fn ranges_plan_the_lower_bound(low in 1u32..=10, extra in 1u32..=5, form in 0usize..4) {
        let high = low + extra;
        let text = match form {
            0 => format!("{low}-{high} T4 VMs"),
            1 => format!("{low} to {high} VMs with T4"),
            2 => format!("between {low} and {high} T4 machines"),
            _ => format!("{low} or {high} T4 nodes"),
        };
        let request = plan(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(request.vm_count, low, "{}", text);
        let mentions = Mentions::extract(&text, Catalog::embedded()).expect("known names");
        for vms in low..=high {
            let mut other = request.clone();
            other.vm_count = vms;
            prop_assert!(mentions.check(&other).is_empty(), "{} with {} VMs", text, vms);
        }
        let mut outside = request.clone();
        outside.vm_count = high + 1;
        prop_assert!(!mentions.check(&outside).is_empty());
    }
}

/// GCP's pattern for resource names, which instances and firewall rules made from the
/// deployment name must match.
fn is_gcp_name(name: &str) -> bool {
    regex::Regex::new("^[a-z]([-a-z0-9]*[a-z0-9])?$")
        .expect("GCP name pattern compiles")
        .is_match(name)
}

/// Names the offline planner derives fit GCP resource names and the hidden HTML-comment
/// marker of the bot's comments (no trailing dash, no `--`), for every GPU in every zone.
#[test]
fn derived_names_for_every_catalog_gpu_and_region_are_gcp_names() {
    let catalog = Catalog::embedded();
    let mut planned = 0;
    for gpu in catalog.gpus() {
        for zone in &gpu.zones {
            let text = format!("one VM with {} in {zone}", gpu.id);
            let request = plan(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(
                is_gcp_name(&request.name),
                "{:?} from {text:?}",
                request.name
            );
            assert!(
                !request.name.contains("--"),
                "{:?} from {text:?}",
                request.name
            );
            planned += 1;
        }
    }
    assert!(planned > 0, "the catalog offers no GPU in any zone");
}

#[test]
fn derived_names_from_awkward_catalog_aliases_are_gcp_names() {
    // An alias full of punctuation and a trailing space would give, character by character,
    // "t4--tesla---us-central1".
    let text = include_str!("../../core/catalog/gcp.toml").replacen(
        r#"aliases = ["t4", "tesla t4", "nvidia t4"]"#,
        r#"aliases = ["t4 (tesla) ", "tesla t4", "nvidia t4"]"#,
        1,
    );
    assert!(
        text.contains("t4 (tesla) "),
        "the catalog's T4 aliases changed"
    );
    let catalog = Catalog::from_toml_str(&text).expect("edited catalog loads");
    let input = PlanInput {
        body: "one VM with a T4 in us-central1".to_owned(),
        ..PlanInput::default()
    };
    let request = OfflinePlanner::new()
        .plan(&input, &catalog, &Policy::default())
        .expect("planned")
        .request;
    assert_eq!(request.name, "t4-tesla-us-central1");
    assert!(is_gcp_name(&request.name));
}
