//! The embedded catalog loads, passes its consistency checks and answers lookups; broken
//! catalogs are rejected with a message naming the inconsistency.

use promptops_core::{Catalog, CatalogError, GpuAttachment};

fn embedded() -> &'static Catalog {
    Catalog::embedded()
}

/// The embedded catalog text with one substring replaced (the substring must exist).
fn edited(from: &str, to: &str) -> String {
    let source = Catalog::embedded_source();
    assert!(source.contains(from), "catalog text lacks {from:?}");
    source.replacen(from, to, 1)
}

fn inconsistencies(text: &str) -> Vec<String> {
    match Catalog::from_toml_str(text) {
        Err(CatalogError::Inconsistent(problems)) => problems,
        other => panic!("expected an inconsistent catalog, got {other:?}"),
    }
}

#[test]
fn embedded_catalog_loads_and_is_consistent() {
    let catalog = Catalog::from_toml_str(Catalog::embedded_source())
        .unwrap_or_else(|e| panic!("embedded catalog rejected: {e}"));
    assert_eq!(&catalog, embedded());
    let ids: Vec<&str> = catalog.gpus().iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "nvidia-tesla-t4",
            "nvidia-tesla-p4",
            "nvidia-tesla-p100",
            "nvidia-tesla-v100",
            "nvidia-tesla-a100",
            "nvidia-a100-80gb",
            "nvidia-l4",
            "nvidia-h100-80gb"
        ]
    );
    assert_eq!(catalog.prices_as_of().len(), 10);
}

#[test]
fn load_reads_a_catalog_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gcp.toml");
    std::fs::write(
        &path,
        edited(
            "prices_as_of = \"2025-06-01\"",
            "prices_as_of = \"2031-01-02\"",
        ),
    )
    .expect("write catalog");
    let loaded = Catalog::load(&path).expect("edited catalog loads");
    assert_eq!(loaded.prices_as_of(), "2031-01-02");

    let missing = dir.path().join("absent.toml");
    let err = Catalog::load(&missing).expect_err("absent file");
    assert!(matches!(err, CatalogError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.toml"), "{err}");
    // The cause is in the message once and not repeated as a source, which error
    // reporters append after the message.
    assert!(err.to_string().contains("No such file"), "{err}");
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
}

#[test]
fn gpu_aliases_are_case_space_and_dash_insensitive() {
    let cases = [
        ("T4", "nvidia-tesla-t4"),
        ("tesla t4", "nvidia-tesla-t4"),
        ("nvidia-tesla-t4", "nvidia-tesla-t4"),
        ("NVIDIA T4", "nvidia-tesla-t4"),
        ("p100", "nvidia-tesla-p100"),
        ("Tesla-V100", "nvidia-tesla-v100"),
        ("a100", "nvidia-tesla-a100"),
        ("A100 40GB", "nvidia-tesla-a100"),
        ("a100 80gb", "nvidia-a100-80gb"),
        ("A100-80GB", "nvidia-a100-80gb"),
        ("H100", "nvidia-h100-80gb"),
        ("nvidia h100 80gb", "nvidia-h100-80gb"),
        ("l4", "nvidia-l4"),
    ];
    for (text, id) in cases {
        let gpu = embedded()
            .gpu_by_alias(text)
            .unwrap_or_else(|| panic!("{text:?} not recognised"));
        assert_eq!(gpu.id, id, "{text:?}");
    }
    for unknown in ["", "b200", "t5", "a100 120gb", "nvidia", "tesla"] {
        assert!(
            embedded().gpu_by_alias(unknown).is_none(),
            "{unknown:?} matched"
        );
    }
}

#[test]
fn zones_and_regions_distinguish_known_without_gpu_from_unknown() {
    let catalog = embedded();
    assert!(catalog.is_known_zone("asia-south1-a"));
    assert!(
        !catalog
            .zones_offering("nvidia-tesla-v100")
            .contains(&"asia-south1-a")
    );
    assert!(!catalog.is_known_zone("mars-1a"));
    assert!(catalog.is_known_region("us-central1"));
    assert!(!catalog.is_known_region("us-central1-a"));
    assert_eq!(
        catalog.region_of_zone("europe-west4-b"),
        Some("europe-west4")
    );
    assert_eq!(
        catalog.zones_offering("nvidia-tesla-v100"),
        [
            "us-central1-a",
            "us-central1-b",
            "us-central1-c",
            "us-central1-f",
            "us-east1-c",
            "us-west1-a",
            "us-west1-b",
            "europe-west4-a",
            "europe-west4-b",
            "europe-west4-c",
            "asia-east1-c"
        ]
    );
    assert!(catalog.zones_offering("no-such-gpu").is_empty());
    for region in [
        "us-central1",
        "us-west1",
        "europe-west4",
        "asia-east1",
        "asia-northeast1",
        "asia-southeast1",
    ] {
        assert!(catalog.regions().contains(&region), "{region}");
    }
}

#[test]
fn machine_families_match_the_gpu_attachment() {
    let catalog = embedded();
    let t4 = catalog.gpu("nvidia-tesla-t4").expect("t4");
    assert_eq!(
        t4.attachment,
        GpuAttachment::Attached {
            family: "n1".to_string(),
            counts: vec![1, 2, 4]
        }
    );
    let v100 = catalog.gpu("nvidia-tesla-v100").expect("v100");
    assert_eq!(v100.attached_counts(), [1, 2, 4, 8]);
    assert_eq!(v100.max_vcpus_for(1), Some(12));
    let a100: Vec<&str> = catalog
        .machine_types_with_builtin("nvidia-tesla-a100")
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        a100,
        [
            "a2-highgpu-1g",
            "a2-highgpu-2g",
            "a2-highgpu-4g",
            "a2-highgpu-8g",
            "a2-megagpu-16g"
        ]
    );
    let l4_counts: Vec<(&str, u32)> = catalog
        .machine_types_with_builtin("nvidia-l4")
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.builtin_gpu.as_ref().map_or(0, |(_, c)| *c),
            )
        })
        .collect();
    assert_eq!(l4_counts.len(), 8);
    assert!(l4_counts.contains(&("g2-standard-48", 4)));
    assert!(l4_counts.contains(&("g2-standard-96", 8)));
    assert_eq!(
        catalog
            .machine_type("a3-highgpu-8g")
            .and_then(|m| m.builtin_gpu.clone()),
        Some(("nvidia-h100-80gb".to_string(), 8))
    );
    assert_eq!(
        catalog.machine_type("n1-standard-4").map(|m| m.vcpus),
        Some(4)
    );
    assert!(catalog.machine_type("n2-standard-4").is_none());
}

#[test]
fn gpu_zone_outside_the_region_list_is_rejected() {
    let problems = inconsistencies(&edited("\"asia-east1-c\",\n]", "\"mars-1a\",\n]"));
    assert!(
        problems.iter().any(|p| p.contains("nvidia-tesla-p100")
            && p.contains("\"mars-1a\"")
            && p.contains("not a zone")),
        "{problems:?}"
    );
}

#[test]
fn builtin_gpu_that_does_not_exist_is_rejected() {
    let problems = inconsistencies(&edited(
        "builtin_gpu = [\"nvidia-l4\", 8]",
        "builtin_gpu = [\"nvidia-l5\", 8]",
    ));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("g2-standard-96") && p.contains("nvidia-l5")),
        "{problems:?}"
    );
}

#[test]
fn attached_counts_must_be_increasing_and_sane() {
    let problems = inconsistencies(&edited("counts = [1, 2, 4, 8]", "counts = [1, 2, 64, 8]"));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("nvidia-tesla-v100") && p.contains("[1, 2, 64, 8]")),
        "{problems:?}"
    );
    let problems = inconsistencies(&edited(
        "attached_max_vcpus = [48, 48, 96]",
        "attached_max_vcpus = [48]",
    ));
    assert!(
        problems.iter().any(|p| p.contains("attached_max_vcpus")),
        "{problems:?}"
    );
}

#[test]
fn default_machine_too_large_for_a_gpu_count_is_rejected() {
    let problems = inconsistencies(&edited(
        "gpu_count = 1\nmachine_type = \"n1-standard-4\"",
        "gpu_count = 1\nmachine_type = \"n1-standard-16\"",
    ));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("n1-standard-16") && p.contains("nvidia-tesla-v100")),
        "{problems:?}"
    );
}

#[test]
fn header_problems_are_reported_together() {
    let text = edited(
        "default_region = \"us-central1\"",
        "default_region = \"moon-1\"",
    )
    .replacen(
        "prices_as_of = \"2025-06-01\"",
        "prices_as_of = \"June 2025\"",
        1,
    )
    .replacen("min_gb = 10", "min_gb = 500", 1);
    let problems = inconsistencies(&text);
    assert!(
        problems.iter().any(|p| p.contains("moon-1")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("June 2025")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("boot_disk")),
        "{problems:?}"
    );
}

#[test]
fn duplicate_and_ambiguous_entries_are_rejected() {
    let problems = inconsistencies(&edited("aliases = [\"p4\",", "aliases = [\"t4\", \"p4\","));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"t4\"") && p.contains("nvidia-tesla-p4")),
        "{problems:?}"
    );
    let problems = inconsistencies(&edited(
        "name = \"n1-standard-2\"",
        "name = \"n1-standard-1\"",
    ));
    assert!(
        problems.iter().any(|p| p.contains("listed twice")),
        "{problems:?}"
    );
}

#[test]
fn unknown_keys_in_the_catalog_file_are_a_parse_error() {
    let err = Catalog::from_toml_str(&edited(
        "memory_gb = 16\n",
        "memory_gb = 16\ncolour = \"green\"\n",
    ))
    .expect_err("unknown key");
    assert!(
        matches!(&err, CatalogError::Parse(m) if m.contains("colour")),
        "{err}"
    );
}

#[test]
fn prompt_summary_names_every_gpu_machine_zone_and_the_price_date() {
    let catalog = embedded();
    let summary = catalog.prompt_summary();
    for gpu in catalog.gpus() {
        assert!(
            summary.contains(&format!("- {} (", gpu.id)),
            "{} missing",
            gpu.id
        );
        for zone in &gpu.zones {
            assert!(summary.contains(zone.as_str()), "{zone} missing");
        }
    }
    for machine in catalog.machine_types() {
        assert!(
            summary.contains(&format!("{} (", machine.name)),
            "{} missing",
            machine.name
        );
    }
    assert!(summary.contains("GPUs per VM: 1 (up to 12 vCPUs), 2 (up to 24 vCPUs), 4 (up to 48 vCPUs), 8 (up to 96 vCPUs)"), "{summary}");
    assert!(
        summary.contains("g2-standard-48 (4 GPU, $4.00/h)"),
        "{summary}"
    );
    assert!(summary.contains(&format!("as of {}", catalog.prices_as_of())));
}
