//! ansible/install_streamlit.yml, for real: syntax check, ansible-lint, and end-to-end runs
//! against a real `sshd` on loopback that trusts only a test CA, with a Vault-API stand-in
//! (tests/support/vault_standin.py) issuing the certificates.
//!
//! Needs the environment printed by `scripts/setup-ansible.sh` (PROMPTOPS_TEST_ANSIBLE_BIN,
//! PROMPTOPS_TEST_PYTHON, PROMPTOPS_TEST_SSHD); without it the tests fail, naming it.
//!
//! Substitutions, on purpose and only these:
//! - The target is this machine through sshd on 127.0.0.1, as the user running the tests
//!   (root in the sandbox and CI, so play 2 runs without `become`).
//! - This sandbox has no systemd: `app_launcher=background` starts the same command line
//!   the unit's ExecStart holds, detached; the rendered unit file is checked as a file.
//! - Streamlit itself is replaced by a tiny wheel named `streamlit`
//!   (tests/support/stub_streamlit_wheel.py) installed with pip from a local directory
//!   (`streamlit_pip_args=--no-index --find-links ...`): the real one pulls in pandas and
//!   pyarrow from the package index.
//! - `os_packages_update_cache=false` (python3 and python3-venv are installed by the setup
//!   script; the apt task still runs and checks them).
//! - `target_python_interpreter=/usr/bin/python3`: this machine's login PATH puts pyenv
//!   shims first, which interpreter discovery would pick.

#[path = "support/playbook.rs"]
mod playbook;
#[path = "support/sshd.rs"]
mod sshd;
#[path = "support/tools.rs"]
mod tools;
#[path = "support/vault.rs"]
mod vault;

use std::process::Command;

use playbook::{AppGuard, STUB_STREAMLIT_VERSION, Scratch, run_playbook};
use serde_json::{Value, json};
use sshd::TestSshd;
use tools::Tools;
use vault::{StandinSettings, VaultStandin};

const ROLE_ID: &str = "role-id-7d1c";
const SECRET_ID: &str = "secret-id-5e2a";
const WRAPPING_TOKEN: &str = "hvs.wrapping-token-91f0";
const SSH_MOUNT: &str = "ssh-demo-e2e";
const SSH_ROLE: &str = "demo-e2e";
const DEPLOYMENT: &str = "demo-e2e";

struct Harness {
    tools: Tools,
    scratch: Scratch,
    sshd: TestSshd,
    vault: VaultStandin,
    user: String,
    app_port: u16,
}

impl Harness {
    fn start(namespace: &str) -> Harness {
        let tools = Tools::from_env();
        let scratch = Scratch::new();
        let ca = scratch.fixture.join("ca");
        std::fs::create_dir_all(&ca).expect("ca dir");
        let ca_key = ca.join("user_ca");
        tools::keygen(&ca_key);
        let sshd = TestSshd::start(
            &tools.sshd,
            &scratch.fixture.join("sshd"),
            &ca_key.with_extension("pub"),
        );
        let user = tools::current_user();
        let vault = VaultStandin::start(
            &tools.python,
            &scratch.fixture.join("vault"),
            &StandinSettings {
                ca_key: &ca_key,
                role_id: ROLE_ID,
                secret_id: SECRET_ID,
                wrapping_token: WRAPPING_TOKEN,
                ssh_mount: SSH_MOUNT,
                ssh_role: SSH_ROLE,
                allowed_user: &user,
                namespace,
            },
        );
        playbook::build_stub_wheel(&tools, &scratch.wheels());
        let app_port = tools::free_port();
        Harness {
            tools,
            scratch,
            sshd,
            vault,
            user,
            app_port,
        }
    }

    /// The extra vars Terraform's action would pass, plus the test substitutions above.
    fn vars(&self, target_hosts: &str, namespace: &str, overrides: Value) -> Value {
        let mut vars = json!({
            "deployment_name": DEPLOYMENT,
            "target_hosts": target_hosts,
            "ssh_user": self.user,
            "ssh_port": self.sshd.port,
            "vault_addr": self.vault.addr,
            "vault_namespace": namespace,
            "vault_approle_mount": "approle",
            "vault_role_id": ROLE_ID,
            "vault_wrapped_secret_id": WRAPPING_TOKEN,
            "vault_ssh_mount": SSH_MOUNT,
            "vault_ssh_role": SSH_ROLE,
            "ssh_cert_ttl": "7m",
            "app_port": self.app_port,
            "app_bind_address": "127.0.0.1",
            "app_root": self.scratch.app_root(),
            "app_user": self.user,
            "app_launcher": "background",
            "systemd_unit_dir": self.scratch.unit_dir(),
            "streamlit_version": STUB_STREAMLIT_VERSION,
            "streamlit_pip_args": format!("--no-index --find-links {}", self.scratch.wheels().display()),
            "os_packages_update_cache": false,
            "target_python_interpreter": "/usr/bin/python3",
            "ansible_remote_tmp": self.scratch.scan.join("remote-tmp"),
            "connect_timeout": 20,
            "app_start_timeout": 60,
        });
        let object = vars.as_object_mut().expect("object");
        for (k, v) in overrides.as_object().expect("overrides object") {
            object.insert(k.clone(), v.clone());
        }
        vars
    }

    /// Every file under the scanned half of the scratch area that still holds any part of
    /// any issued key or certificate.
    fn leftover_key_material(&self) -> Vec<String> {
        let needles: Vec<String> = self
            .vault
            .certificates()
            .iter()
            .flat_map(playbook::key_material)
            .collect();
        playbook::files_containing(&self.scratch.scan, &needles)
    }

    /// Credential directories the playbook created under TMPDIR and left behind.
    fn leftover_credential_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.scratch.tmp())
            .expect("tmp dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("promptops-ssh-"))
            .collect()
    }
}

/// The files the run shredded, from the loop labels of the shred task.
fn shredded_files(output: &str) -> Vec<String> {
    let section = output
        .split("TASK [Shred the credential files]")
        .nth(1)
        .unwrap_or_default();
    let section = section.split("TASK [").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("changed:"))
        .filter_map(|l| l.split("(item=").nth(1))
        .map(|l| l.trim_end_matches(')').to_string())
        .collect()
}

#[test]
fn syntax_check_passes() {
    let tools = Tools::from_env();
    let home = tempfile::tempdir().expect("home");
    let (ok, output) = playbook::run_tool(
        &tools,
        "ansible-playbook",
        &["--syntax-check", "install_streamlit.yml"],
        home.path(),
    );
    assert!(ok, "ansible-playbook --syntax-check failed:\n{output}");
    assert!(
        output.contains("playbook: install_streamlit.yml"),
        "unexpected output:\n{output}"
    );
}

#[test]
fn ansible_lint_passes_with_the_production_profile() {
    let tools = Tools::from_env();
    let home = tempfile::tempdir().expect("home");
    let (ok, output) = playbook::run_tool(
        &tools,
        "ansible-lint",
        &[
            "--offline",
            "--profile",
            "production",
            "install_streamlit.yml",
        ],
        home.path(),
    );
    assert!(ok, "ansible-lint failed:\n{output}");
    assert!(
        output.contains("0 failure(s), 0 warning(s)"),
        "unexpected ansible-lint summary:\n{output}"
    );
}

#[test]
fn playbook_configures_the_target_with_a_vault_certificate_only() {
    eprintln!(
        "note: no systemd here; the app is started with app_launcher=background and the rendered \
         unit is checked as a file. Streamlit is a local stub wheel. See the top of this file."
    );
    let h = Harness::start("team-a");
    let _app = AppGuard(h.scratch.app_root());

    // The server accepts no static key: a fresh key pair is refused.
    let static_key = h.scratch.fixture.join("static_key");
    tools::keygen(&static_key);
    let refused = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
        ])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .arg("-i")
        .arg(&static_key)
        .args([
            "-p",
            &h.sshd.port.to_string(),
            &format!("{}@127.0.0.1", h.user),
            "true",
        ])
        .output()
        .expect("run ssh");
    assert!(!refused.status.success(), "sshd accepted a static key");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Permission denied"),
        "static key login failed for another reason: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        h.sshd.accepted_logins().is_empty(),
        "sshd logged a login with a static key"
    );

    let run = run_playbook(
        &h.tools,
        &h.scratch,
        "first",
        &h.vars("127.0.0.1", "team-a", json!({})),
    );
    assert!(run.success, "the playbook failed:\n{}", run.output);

    // Vault: unwrap, login, one certificate, revocation — all in the namespace.
    let requests = h.vault.requests();
    let summary: Vec<(&str, u64)> = requests.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(
        summary,
        vec![
            ("/v1/sys/wrapping/unwrap", 200),
            ("/v1/auth/approle/login", 200),
            (&*format!("/v1/{SSH_MOUNT}/issue/{SSH_ROLE}"), 200),
            ("/v1/auth/token/revoke-self", 204),
        ],
        "unexpected Vault calls"
    );
    assert!(
        requests
            .iter()
            .all(|(_, _, ns)| ns.as_deref() == Some("team-a")),
        "namespace header missing: {requests:?}"
    );

    // The certificate: requested principal and TTL.
    let certificates = h.vault.certificates();
    assert_eq!(certificates.len(), 1, "one certificate per run");
    let cert = playbook::certificate_details(
        certificates[0]["signed_key"].as_str().expect("signed_key"),
        &h.scratch.fixture,
    );
    assert_eq!(
        cert.principals,
        vec![h.user.clone()],
        "certificate:\n{}",
        cert.text
    );
    assert_eq!(
        cert.valid_seconds,
        7 * 60,
        "certificate TTL is not the requested 7m:\n{}",
        cert.text
    );

    // sshd: every login was with that certificate.
    let logins = h.sshd.accepted_logins();
    assert!(
        !logins.is_empty(),
        "sshd logged no login:\n{}",
        h.sshd.log_text()
    );
    for login in &logins {
        assert!(
            login.contains("-CERT ") && login.contains(&format!("ID {} ", cert.key_id)),
            "a login without the issued certificate: {login}"
        );
    }

    // The app: installed from the pinned version, rendered unit, answering.
    let unit = std::fs::read_to_string(h.scratch.unit_dir().join("promptops-streamlit.service"))
        .expect("the systemd unit was rendered");
    let app_root = h.scratch.app_root();
    let exec_start = format!(
        "ExecStart={root}/venv/bin/streamlit run {root}/app.py --server.port {port} --server.address 127.0.0.1",
        root = app_root.display(),
        port = h.app_port
    );
    assert!(
        unit.contains(&exec_start),
        "unit lacks `{exec_start}`:\n{unit}"
    );
    assert!(
        unit.contains(&format!("User={}", h.user)) && unit.contains("WantedBy=multi-user.target"),
        "{unit}"
    );
    // venv/lib/python3.X/site-packages/streamlit-<pinned>.dist-info
    let dist_info = format!("site-packages/streamlit-{STUB_STREAMLIT_VERSION}.dist-info");
    let installed = std::fs::read_dir(app_root.join("venv/lib"))
        .expect("the app venv exists")
        .flatten()
        .any(|python| python.path().join(&dist_info).is_dir());
    assert!(
        installed,
        "streamlit {STUB_STREAMLIT_VERSION} is not installed in the app venv"
    );
    assert_eq!(
        playbook::http_get(h.app_port, "/_stcore/health").as_deref(),
        Some("ok")
    );
    let page = playbook::http_get(h.app_port, "/").expect("the app answers");
    assert!(
        page.contains(&format!("DEPLOYMENT = \"{DEPLOYMENT}\"")),
        "the app serves another app.py:\n{page}"
    );

    // No key material left.
    let shredded = shredded_files(&run.output);
    assert!(
        shredded.iter().any(|f| f.ends_with("/id_ed25519"))
            && shredded.iter().any(|f| f.ends_with("/id_ed25519-cert.pub")),
        "key and certificate were not shredded; shredded: {shredded:?}\n{}",
        run.output
    );
    assert!(
        shredded.iter().all(|f| !std::path::Path::new(f).exists()),
        "shredded files still exist: {shredded:?}"
    );
    assert_eq!(
        h.leftover_credential_dirs(),
        Vec::<String>::new(),
        "credential dir left behind"
    );
    assert_eq!(
        h.leftover_key_material(),
        Vec::<String>::new(),
        "key material left on disk"
    );
    assert!(
        !run.output.contains(SECRET_ID) && !run.output.contains(WRAPPING_TOKEN),
        "a secret reached the output"
    );

    // The wrapped secret_id is single use: the same extra vars fail before any certificate.
    let again = run_playbook(
        &h.tools,
        &h.scratch,
        "again",
        &h.vars("127.0.0.1", "team-a", json!({})),
    );
    assert!(
        !again.success,
        "a second run with a consumed wrapping token succeeded:\n{}",
        again.output
    );
    assert!(
        again
            .output
            .contains("Could not obtain an SSH certificate from Vault")
            && again.output.contains("Unwrap the AppRole secret_id"),
        "unexpected failure:\n{}",
        again.output
    );
    assert_eq!(
        h.vault.certificates().len(),
        1,
        "a certificate was issued for a consumed token"
    );
    assert_eq!(
        h.leftover_credential_dirs(),
        Vec::<String>::new(),
        "credential dir left behind after a failed run"
    );
}

#[test]
fn credentials_are_shredded_and_the_run_fails_when_configuration_fails() {
    let h = Harness::start("");
    let _app = AppGuard(h.scratch.app_root());
    // 127.0.0.1 fails in play 2 at the pip install (no such version in the wheel dir);
    // 127.0.0.2 has no sshd at all (unreachable).
    let vars = h.vars(
        "127.0.0.1, 127.0.0.2",
        "",
        json!({ "streamlit_version": "9.9.9", "connect_timeout": 5 }),
    );
    let run = run_playbook(&h.tools, &h.scratch, "failing", &vars);
    assert!(
        !run.success,
        "the playbook succeeded although play 2 failed:\n{}",
        run.output
    );

    // Play 2 really ran on 127.0.0.1 with the certificate, and failed there.
    assert_eq!(h.vault.certificates().len(), 1);
    assert!(
        !h.sshd.accepted_logins().is_empty(),
        "play 2 never logged in:\n{}",
        run.output
    );
    assert!(
        run.output
            .contains("127.0.0.1 was not configured: Install Streamlit into a virtualenv"),
        "the pip failure is not reported:\n{}",
        run.output
    );
    assert!(
        run.output
            .contains("127.0.0.2 was not configured: Wait until the host accepts the certificate"),
        "the unreachable host is not reported:\n{}",
        run.output
    );

    // Play 3 ran anyway: key and certificate shredded, token revoked, nothing left.
    let shredded = shredded_files(&run.output);
    assert!(
        shredded.iter().any(|f| f.ends_with("/id_ed25519"))
            && shredded.iter().any(|f| f.ends_with("/id_ed25519-cert.pub")),
        "key and certificate were not shredded after the failure; shredded: {shredded:?}\n{}",
        run.output
    );
    assert!(
        h.vault
            .requests()
            .iter()
            .any(|(p, s, ns)| p == "/v1/auth/token/revoke-self" && *s == 204 && ns.is_none()),
        "the Vault token was not revoked: {:?}",
        h.vault.requests()
    );
    assert_eq!(
        h.leftover_credential_dirs(),
        Vec::<String>::new(),
        "credential dir left behind"
    );
    assert_eq!(
        h.leftover_key_material(),
        Vec::<String>::new(),
        "key material left on disk"
    );
    assert!(
        playbook::http_get(h.app_port, "/_stcore/health").is_none(),
        "an app is running although the install failed"
    );
}
