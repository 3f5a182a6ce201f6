//! The deployment name rule is enforced twice: by the renderer (`promptops_core::is_valid_name`)
//! and by `terraform/variables.tf`'s validations on `deployment_name`, so a tfvars file edited
//! by hand is refused too. This runs the real `terraform` on the module's own variable block
//! (copied out of variables.tf: the rest of the module needs providers that cannot be
//! downloaded here) and checks that both accept and refuse the same names.

use std::path::PathBuf;
use std::process::Command;

use promptops_core::is_valid_name;

fn terraform_bin() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "terraform binary not found at {} (install Terraform or set TERRAFORM_BIN): the name rule cannot be checked",
        bin.display()
    );
    bin
}

/// The `variable "deployment_name" { ... }` block of terraform/variables.tf, verbatim.
fn deployment_name_variable() -> String {
    let module = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../terraform");
    let text = std::fs::read_to_string(module.join("variables.tf"))
        .expect("terraform/variables.tf is readable");
    let start = text
        .find("variable \"deployment_name\"")
        .expect("variables.tf declares deployment_name");
    let rest = &text[start..];
    // The block ends at the first line that is exactly "}".
    let end = rest
        .find("\n}\n")
        .expect("the deployment_name block is closed by a `}` line");
    rest[..end + 3].to_owned()
}

#[test]
fn terraform_and_the_renderer_accept_the_same_deployment_names() {
    let bin = terraform_bin();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("variables.tf"), deployment_name_variable()).unwrap();
    std::fs::write(
        dir.path().join("outputs.tf"),
        "output \"name\" {\n  value = var.deployment_name\n}\n",
    )
    .unwrap();
    let names = [
        "gpu-demo",
        "a",
        "t4-us-west1",
        "a23456789012345678901234567890123456789",
        "a234567890123456789012345678901234567890",
        "gpu-",
        "gpu--demo",
        "-gpu",
        "1gpu",
        "GPU",
        "gpu_demo",
    ];
    for name in names {
        let out = Command::new(&bin)
            .args(["plan", "-input=false", "-no-color", "-lock=false"])
            .arg(format!("-var=deployment_name={name}"))
            .current_dir(dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused = stderr.contains("Invalid value for variable");
        assert!(
            out.status.success() || refused,
            "terraform failed for another reason on {name:?} ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert_eq!(
            !refused,
            is_valid_name(name),
            "terraform {} {name:?} but the renderer {} it:\n{stderr}",
            if refused { "refuses" } else { "accepts" },
            if is_valid_name(name) {
                "accepts"
            } else {
                "refuses"
            }
        );
    }
}
