//! The compute module's startup script (modules/compute/startup.sh.tftpl), rendered as
//! Terraform's templatefile() would (hcl-rs template evaluation), then checked for real:
//! `bash -n` parses it, and this machine's `sshd` accepts the sshd settings it installs and
//! reports the effective values we rely on (`sshd -T`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use hcl::eval::{Context, Evaluate};

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sshd_bin() -> PathBuf {
    let path = std::env::var_os("PROMPTOPS_TEST_SSHD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/sshd"));
    assert!(
        path.is_file(),
        "sshd not found at {} (Debian package openssh-server; scripts/setup-ansible.sh installs it)",
        path.display()
    );
    path
}

fn keygen(path: &Path) -> String {
    run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f"])
            .arg(path),
        "ssh-keygen (openssh-client)",
    );
    std::fs::read_to_string(path.with_extension("pub")).expect("public key")
}

/// The text between `<<'MARK'` and the line `MARK`.
fn heredoc<'a>(script: &'a str, mark: &str) -> &'a str {
    let start = script
        .find(&format!("<<'{mark}'\n"))
        .unwrap_or_else(|| panic!("no <<'{mark}' heredoc in:\n{script}"))
        + mark.len()
        + 5;
    let len = script[start..]
        .find(&format!("\n{mark}\n"))
        .unwrap_or_else(|| panic!("heredoc {mark} is not closed"));
    &script[start..start + len]
}

#[test]
fn startup_script_renders_to_valid_bash_whose_sshd_settings_trust_only_the_ca() {
    let sshd = sshd_bin();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_public = keygen(&dir.path().join("ca"));

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../terraform/modules/compute/startup.sh.tftpl");
    let source = std::fs::read_to_string(&path).expect("startup script template");
    let template = hcl::Template::from_str(&source).expect("the startup script is an HCL template");
    let mut ctx = Context::new();
    ctx.declare_var("ca_public_key", ca_public.trim());
    ctx.declare_var("ssh_user", "promptops");
    let script = template
        .evaluate(&ctx)
        .expect("template renders with ca_public_key and ssh_user");

    assert_eq!(
        heredoc(&script, "CA"),
        ca_public.trim(),
        "the CA key is not installed verbatim"
    );
    assert!(
        script.contains("useradd --create-home --shell /bin/bash 'promptops'"),
        "{script}"
    );
    assert!(
        script.contains("'promptops ALL=(ALL) NOPASSWD:ALL'"),
        "{script}"
    );
    let script_file = dir.path().join("startup.sh");
    std::fs::write(&script_file, &script).expect("write script");
    run(
        Command::new("bash").arg("-n").arg(&script_file),
        "bash -n on the rendered startup script",
    );

    // The sshd drop-in, with the CA path pointed at this test's CA key.
    let dropin = heredoc(&script, "SSHD").replace(
        "/etc/ssh/promptops_user_ca.pub",
        &dir.path().join("ca.pub").display().to_string(),
    );
    let host_key = dir.path().join("host");
    keygen(&host_key);
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        format!("{dropin}\nHostKey {}\nUsePAM no\n", host_key.display()),
    )
    .expect("config");
    let _ = std::fs::create_dir_all("/run/sshd");
    run(
        Command::new(&sshd).arg("-t").arg("-f").arg(&config),
        "sshd -t on the startup script's settings",
    );
    let effective = run(
        Command::new(&sshd)
            .arg("-T")
            .arg("-f")
            .arg(&config)
            .args(["-C", "user=promptops,host=vm,addr=203.0.113.7"]),
        "sshd -T",
    );
    for (key, want) in [
        (
            "trustedusercakeys",
            dir.path().join("ca.pub").display().to_string(),
        ),
        ("authorizedkeysfile", "none".to_string()),
        ("passwordauthentication", "no".to_string()),
        ("kbdinteractiveauthentication", "no".to_string()),
        ("permitrootlogin", "no".to_string()),
    ] {
        let line = effective
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("sshd -T does not report {key}:\n{effective}"));
        assert_eq!(line, format!("{key} {want}"), "effective sshd setting");
    }
}
