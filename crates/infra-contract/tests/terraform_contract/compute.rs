//! The compute module's GPU tables against the catalog: every catalog GPU is handled, GPUs
//! attach only on N1 machines, and GPU VMs terminate on host maintenance.

use super::*;

/// `local.gpus` and `local.builtin_gpus` of the compute module as plain maps.
/// GPU id -> (machine family, attachable counts).
type GpuTable = BTreeMap<String, (String, Vec<u32>)>;
/// Machine type -> (built-in GPU id, count).
type BuiltinTable = BTreeMap<String, (String, u32)>;

fn compute_tables() -> (GpuTable, BuiltinTable) {
    let compute = module("compute");
    let locals = tf::locals(&compute);
    let gpus = match tf::literal_json(locals.get("gpus").expect("compute module has local.gpus")) {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(id, entry)| {
                let family = entry["family"].as_str().expect("family string").to_string();
                let counts = entry["attached_counts"]
                    .as_array()
                    .expect("attached_counts list")
                    .iter()
                    .map(|c| c.as_u64().expect("count") as u32)
                    .collect();
                (id, (family, counts))
            })
            .collect(),
        other => panic!("local.gpus is {other:?}"),
    };
    let builtin = match tf::literal_json(
        locals
            .get("builtin_gpus")
            .expect("compute module has local.builtin_gpus"),
    ) {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(machine, entry)| {
                let gpu = entry["gpu"].as_str().expect("gpu string").to_string();
                let count = entry["count"].as_u64().expect("count") as u32;
                (machine, (gpu, count))
            })
            .collect(),
        other => panic!("local.builtin_gpus is {other:?}"),
    };
    (gpus, builtin)
}

#[test]
fn compute_module_handles_every_catalog_gpu() {
    let cat = catalog();
    let (gpus, builtin) = compute_tables();
    let mut problems = Vec::new();
    for gpu in cat.gpus() {
        let Some((family, counts)) = gpus.get(&gpu.id) else {
            problems.push(format!("{} is missing from local.gpus", gpu.id));
            continue;
        };
        match &gpu.attachment {
            GpuAttachment::Attached {
                family: want,
                counts: want_counts,
            } => {
                if family != want || counts != want_counts {
                    problems.push(format!(
                        "{}: module says {family} {counts:?}, catalog attaches to {want} {want_counts:?}",
                        gpu.id
                    ));
                }
            }
            GpuAttachment::BuiltIn => {
                if !counts.is_empty() {
                    problems.push(format!(
                        "{} is built in but the module would attach {counts:?}",
                        gpu.id
                    ));
                }
                let machines = cat.machine_types_with_builtin(&gpu.id);
                if machines.is_empty() {
                    problems.push(format!(
                        "{}: no catalog machine type has it built in",
                        gpu.id
                    ));
                }
                for machine in machines {
                    if &machine.family != family {
                        problems.push(format!(
                            "{}: family {family}, but {} is {}",
                            gpu.id, machine.name, machine.family
                        ));
                    }
                    let (_, count) = machine.builtin_gpu.clone().expect("builtin");
                    if builtin.get(&machine.name) != Some(&(gpu.id.clone(), count)) {
                        problems.push(format!(
                            "local.builtin_gpus[{}] is {:?}, catalog says ({}, {count})",
                            machine.name,
                            builtin.get(&machine.name),
                            gpu.id
                        ));
                    }
                }
            }
        }
    }
    for id in gpus.keys() {
        if cat.gpu(id).is_none() {
            problems.push(format!(
                "local.gpus has {id}, which the catalog does not know"
            ));
        }
    }
    for (machine, (gpu, _)) in &builtin {
        if !gpus.contains_key(gpu) {
            problems.push(format!(
                "local.builtin_gpus[{machine}] names unknown GPU {gpu}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "compute module vs catalog:\n{}",
        problems.join("\n")
    );
}

#[test]
fn compute_module_attaches_gpus_only_on_n1_and_terminates_on_maintenance() {
    let compute = module("compute");
    let locals = tf::locals(&compute);
    assert_eq!(
        tf::text(&locals["attach_gpus"]),
        r#"local.machine_family == "n1""#
    );
    assert_eq!(
        tf::text(&locals["machine_family"]),
        r#"split("-", var.machine_type)[0]"#
    );

    let vm = tf::block(&compute, "resource", &["google_compute_instance", "vm"]);
    let body = vm.body();
    assert_eq!(
        tf::text(tf::required_attr(body, "count", "the VM resource")),
        "var.vm_count"
    );
    let name = tf::text(tf::required_attr(body, "name", "the VM resource"));
    assert!(
        name.contains("var.deployment_name"),
        "VM name {name} is not derived from the deployment"
    );

    let accel = tf::block(body, "dynamic", &["guest_accelerator"]);
    let for_each = tf::text(tf::required_attr(
        accel.body(),
        "for_each",
        "dynamic guest_accelerator",
    ));
    assert!(
        for_each.contains("local.attach_gpus"),
        "guest_accelerator not conditional on N1: {for_each}"
    );
    let content = tf::block(accel.body(), "content", &[]);
    assert_eq!(
        tf::text(tf::required_attr(content.body(), "type", "accelerator")),
        "var.gpu_type"
    );
    assert_eq!(
        tf::text(tf::required_attr(content.body(), "count", "accelerator")),
        "var.gpu_count"
    );

    let scheduling = tf::block(body, "scheduling", &[]);
    assert_eq!(
        tf::literal(tf::required_attr(
            scheduling.body(),
            "on_host_maintenance",
            "scheduling"
        )),
        Value::from("TERMINATE")
    );

    let labels = tf::text(&locals["labels"]);
    assert!(
        labels.contains("var.deployment_name") && labels.contains("var.source_issue"),
        "labels: {labels}"
    );

    let script =
        std::fs::read_to_string(tf::terraform_dir().join("modules/compute/startup.sh.tftpl"))
            .expect("startup script template");
    for needle in [
        "TrustedUserCAKeys",
        "${ca_public_key}",
        "AuthorizedKeysFile none",
        "PasswordAuthentication no",
        "systemctl restart",
    ] {
        assert!(script.contains(needle), "startup script lacks {needle:?}");
    }
}
