//! `resolve` fills the gaps of a draft from the catalog.

use promptops_core::{Catalog, DeploymentDraft, DeploymentRequest, Policy, resolve};

fn resolved(draft: DeploymentDraft) -> DeploymentRequest {
    resolve(draft, Catalog::embedded(), &Policy::default())
        .unwrap_or_else(|e| panic!("draft should resolve: {e}"))
}

fn gpu(text: &str) -> DeploymentDraft {
    DeploymentDraft {
        gpu_type: Some(text.to_string()),
        ..DeploymentDraft::default()
    }
}

#[test]
fn an_empty_draft_gets_every_default() {
    let request = resolved(DeploymentDraft::default());
    assert_eq!(request.gpu_type, "nvidia-tesla-t4");
    assert_eq!(request.gpu_count, 1);
    assert_eq!(request.vm_count, 1);
    assert_eq!(request.machine_type, "n1-standard-4");
    assert_eq!(request.zone, "us-central1-a");
    assert_eq!(request.region(), "us-central1");
    assert_eq!(request.boot_disk_size_gb, 100);
    assert_eq!(request.name, "t4-us-central1");
    assert!(request.rationale.is_empty());
}

#[test]
fn n1_machine_grows_with_the_gpu_count() {
    for (count, machine) in [
        (1, "n1-standard-4"),
        (2, "n1-standard-8"),
        (4, "n1-standard-16"),
        (8, "n1-standard-32"),
    ] {
        let request = resolved(DeploymentDraft {
            gpu_count: Some(count),
            ..gpu("v100")
        });
        assert_eq!(request.machine_type, machine, "{count} V100");
        assert_eq!(request.gpu_type, "nvidia-tesla-v100");
    }
}

#[test]
fn built_in_families_pick_the_machine_with_that_gpu_count() {
    let cases = [
        ("a100", 1, "a2-highgpu-1g"),
        ("a100", 16, "a2-megagpu-16g"),
        ("a100 80gb", 4, "a2-ultragpu-4g"),
        ("l4", 1, "g2-standard-4"),
        ("l4", 2, "g2-standard-24"),
        ("l4", 4, "g2-standard-48"),
        ("H100", 8, "a3-highgpu-8g"),
    ];
    for (text, count, machine) in cases {
        let policy = Policy {
            max_gpus_per_vm: 16,
            max_hourly_usd: 1000.0,
            ..Policy::default()
        };
        let request = resolve(
            DeploymentDraft {
                gpu_count: Some(count),
                ..gpu(text)
            },
            Catalog::embedded(),
            &policy,
        )
        .unwrap_or_else(|e| panic!("{count} {text}: {e}"));
        assert_eq!(request.machine_type, machine, "{count} {text}");
    }
}

#[test]
fn a_built_in_machine_type_implies_gpu_and_count() {
    let request = resolved(DeploymentDraft {
        machine_type: Some("a2-highgpu-2g".to_string()),
        ..DeploymentDraft::default()
    });
    assert_eq!(request.gpu_type, "nvidia-tesla-a100");
    assert_eq!(request.gpu_count, 2);
}

#[test]
fn zone_is_the_first_zone_of_the_region_offering_the_gpu() {
    let request = resolved(DeploymentDraft {
        region: Some("us-west1".to_string()),
        vm_count: Some(5),
        ..gpu("T4")
    });
    assert_eq!(request.zone, "us-west1-a");
    assert_eq!(request.vm_count, 5);

    // us-east1-b is the first us-east1 zone, but V100 is only in us-east1-c.
    let request = resolved(DeploymentDraft {
        region: Some("us-east1".to_string()),
        ..gpu("v100")
    });
    assert_eq!(request.zone, "us-east1-c");
}

#[test]
fn without_a_region_the_policy_regions_are_preferred() {
    let policy = Policy {
        allowed_regions: vec!["europe-west4".to_string()],
        ..Policy::default()
    };
    let request = resolve(gpu("a100"), Catalog::embedded(), &policy).expect("valid");
    assert_eq!(request.zone, "europe-west4-a");
}

#[test]
fn without_a_gpu_the_policy_gpu_types_are_preferred() {
    let policy = Policy {
        allowed_gpu_types: vec!["nvidia-l4".to_string()],
        ..Policy::default()
    };
    let request = resolve(DeploymentDraft::default(), Catalog::embedded(), &policy).expect("valid");
    assert_eq!(request.gpu_type, "nvidia-l4");
    assert_eq!(request.machine_type, "g2-standard-4");
}

#[test]
fn explicit_values_are_kept() {
    let draft = DeploymentDraft {
        name: Some("train-01".to_string()),
        vm_count: Some(3),
        gpu_type: Some("nvidia-tesla-t4".to_string()),
        gpu_count: Some(4),
        machine_type: Some("n1-highmem-32".to_string()),
        zone: Some("europe-west1-c".to_string()),
        region: Some("europe-west1".to_string()),
        boot_disk_size_gb: Some(500),
        rationale: Some("batch training".to_string()),
        assumptions: vec!["spot not wanted".to_string()],
    };
    let request = resolved(draft);
    assert_eq!(
        request,
        DeploymentRequest {
            name: "train-01".to_string(),
            vm_count: 3,
            gpu_type: "nvidia-tesla-t4".to_string(),
            gpu_count: 4,
            machine_type: "n1-highmem-32".to_string(),
            zone: "europe-west1-c".to_string(),
            boot_disk_size_gb: 500,
            rationale: "batch training".to_string(),
            assumptions: vec!["spot not wanted".to_string()],
        }
    );
    request
        .validate(Catalog::embedded(), &Policy::default())
        .expect("a resolved request re-validates");
}

#[test]
fn cost_estimate_adds_attached_gpus_and_uses_whole_machine_prices() {
    let catalog = Catalog::embedded();
    let t4 = resolved(DeploymentDraft {
        vm_count: Some(5),
        ..gpu("t4")
    });
    let estimate = catalog.estimate(&t4);
    assert!(
        (estimate.per_vm_hour_usd - (0.19 + 0.35)).abs() < 1e-9,
        "{estimate:?}"
    );
    assert!(
        (estimate.hourly_usd - 5.0 * 0.54).abs() < 1e-9,
        "{estimate:?}"
    );
    assert!(
        (estimate.monthly_usd - 5.0 * 0.54 * 730.0).abs() < 1e-6,
        "{estimate:?}"
    );

    let a2 = resolved(DeploymentDraft {
        machine_type: Some("a2-highgpu-1g".to_string()),
        ..DeploymentDraft::default()
    });
    let machine_price = catalog
        .machine_type("a2-highgpu-1g")
        .expect("a2")
        .usd_per_hour;
    assert_eq!(catalog.estimate(&a2).per_vm_hour_usd, machine_price);

    let mut unknown = t4.clone();
    unknown.gpu_type = "nvidia-b200".to_string();
    assert_eq!(catalog.try_estimate(&unknown), None);
}
