//! The Compute and AAP stand-ins of `tools/standin-cloud`, run as child processes: every
//! `google_compute_instance` becomes an isolated machine on a 127.2.x.y address with its
//! own sshd (booted with its startup script), and job templates run the real playbook with
//! ansible-core. Both stop when dropped (the Compute stand-in stops its machines first).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where each machine sees the wheel mirror the playbook installs the app from.
pub const IMAGE_WHEELS: &str = "/var/lib/promptops-image/wheels";
/// The address the host (the configuration job, a browser) reaches every machine from.
pub const HOST_ADDRESS: &str = "127.3.0.1";
pub const JOB_TEMPLATE_ID: u64 = 17;

/// The repository root, from whichever crate of the workspace includes this file.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("tools/standin-cloud").is_dir())
        .expect("the repository holding tools/standin-cloud")
        .to_path_buf()
}

fn tools_dir() -> PathBuf {
    repo_root().join("tools/standin-cloud")
}

/// The stub `streamlit` wheel (crates/infra-contract/tests/support/stub_streamlit_wheel.py)
/// in `dir`, for the job template's wheel mirror.
pub fn build_stub_wheel(python: &Path, dir: &Path, version: &str) {
    let script = repo_root().join("crates/infra-contract/tests/support/stub_streamlit_wheel.py");
    let status = Command::new(python)
        .arg(script)
        .arg(dir)
        .arg(version)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "building the stub streamlit wheel failed");
}

#[expect(
    clippy::zombie_processes,
    reason = "the child is returned to the caller, whose `stop` waits for it; the lint does not follow a child out in a tuple"
)]
fn spawn(
    python: &Path,
    module: &str,
    args: &[String],
    log: &Path,
    port_file: &Path,
) -> (Child, u16) {
    let mut child = Command::new(python)
        .args(["-m", module])
        .args(args)
        .arg("--port-file")
        .arg(port_file)
        .env("PYTHONPATH", tools_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {module}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A file caught half-written does not parse yet: read it again.
        let port = std::fs::read_to_string(port_file)
            .ok()
            .and_then(|port| port.trim().parse().ok());
        if let Some(port) = port {
            return (child, port);
        }
        if Instant::now() >= deadline {
            // Not left running (or a zombie) behind the failed test.
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{module} did not start: {}",
                std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(child: &mut Child) {
    // SIGTERM: the Compute stand-in stops its machines before it exits.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub struct Compute {
    child: Child,
    pub port: u16,
}

impl Compute {
    /// Needs root: the machines are network and mount namespaces.
    pub fn start(python: &Path, dir: &Path, wheels: &Path) -> Compute {
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        assert_eq!(
            String::from_utf8_lossy(&uid).trim(),
            "0",
            "the Compute stand-in needs root (network and mount namespaces, veth links): run the tests as root, as scripts/test.sh does in CI"
        );
        std::fs::create_dir_all(dir).unwrap();
        let (child, port) = spawn(
            python,
            "standin_cloud.compute",
            &[
                "--state-dir".into(),
                dir.join("state").display().to_string(),
                "--image-dir".into(),
                format!("{}:{IMAGE_WHEELS}", wheels.display()),
                "--stop-with-parent".into(),
            ],
            &dir.join("compute.log"),
            &dir.join("port"),
        );
        Compute { child, port }
    }

    /// GOOGLE_COMPUTE_CUSTOM_ENDPOINT for the google stand-in provider.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/compute/v1/", self.port)
    }

    /// The instances the stand-in runs in a project's zone.
    pub fn instances(&self, project: &str, zone: &str) -> Vec<Value> {
        let (status, body) = http(
            ("127.0.0.1", self.port),
            &format!("/compute/v1/projects/{project}/zones/{zone}/instances"),
            None,
        )
        .expect("the Compute stand-in answers");
        assert_eq!(status, 200, "{body}");
        let list: Value = serde_json::from_str(&body).unwrap();
        list["items"].as_array().cloned().unwrap_or_default()
    }
}

impl Compute {
    /// `instances.stop`: the machine is switched off (its sshd and app with it).
    pub fn stop_instance(&self, project: &str, zone: &str, name: &str) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "POST /compute/v1/projects/{project}/zones/{zone}/instances/{name}/stop HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    }
}

impl Drop for Compute {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Job template 17's own variables: what the machines lack next to a GCE VM (systemd, a
/// package index, an apt cache to refresh) and how long a host may take to accept the
/// certificate before the job gives it up.
pub fn job_template_vars(connect_timeout_secs: u64) -> Value {
    json!({
        "app_launcher": "background",
        "streamlit_version": STUB_STREAMLIT_VERSION,
        "streamlit_pip_args": format!("--no-index --find-links {IMAGE_WHEELS}"),
        "os_packages_update_cache": false,
        "connect_timeout": connect_timeout_secs,
    })
}

/// The Compute and AAP stand-ins as the chain runs them, under `dir`: the stub app's wheel
/// built for the machines' mirror, job template 17 running the real playbook, a switched-off
/// VM failing the job after 60 s.
pub fn start_chain_cloud(python: &Path, ansible_bin: &Path, dir: &Path) -> (Compute, Aap) {
    let wheels = dir.join("wheels");
    build_stub_wheel(python, &wheels, STUB_STREAMLIT_VERSION);
    let compute = Compute::start(python, &dir.join("compute"), &wheels);
    let aap = Aap::start(python, ansible_bin, &dir.join("aap"), job_template_vars(60));
    (compute, aap)
}

/// The version of the stub `streamlit` wheel (any version the playbook asks for works).
pub const STUB_STREAMLIT_VERSION: &str = "1.51.0";

pub struct Aap {
    child: Child,
    pub port: u16,
    pub token: String,
    pub data_dir: PathBuf,
}

impl Aap {
    /// Job template 17 runs ansible/install_streamlit.yml; `template_vars` are the
    /// template's own extra_vars (the launch's override them).
    pub fn start(python: &Path, ansible_bin: &Path, dir: &Path, template_vars: Value) -> Aap {
        let playbook = repo_root().join("ansible/install_streamlit.yml");
        Aap::start_with_playbook(python, ansible_bin, dir, &playbook, template_vars)
    }

    /// Job template 17 runs `playbook` instead.
    pub fn start_with_playbook(
        python: &Path,
        ansible_bin: &Path,
        dir: &Path,
        playbook: &Path,
        template_vars: Value,
    ) -> Aap {
        std::fs::create_dir_all(dir).unwrap();
        let token = format!("aap-token-{}", std::process::id());
        let playbook = playbook.canonicalize().unwrap();
        let config = json!({
            "token": token,
            "job_templates": {
                JOB_TEMPLATE_ID.to_string(): {
                    "name": "PromptOps: install the Streamlit demo app",
                    "playbook": playbook,
                    "ask_variables_on_launch": true,
                    "ask_inventory_on_launch": true,
                    "extra_vars": template_vars,
                }
            }
        });
        let config_path = dir.join("aap.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let data_dir = dir.join("data");
        let (child, port) = spawn(
            python,
            "standin_cloud.aap",
            &[
                "--config".into(),
                config_path.display().to_string(),
                "--data-dir".into(),
                data_dir.display().to_string(),
                "--ansible-bin".into(),
                ansible_bin.display().to_string(),
            ],
            &dir.join("aap.log"),
            &dir.join("port"),
        );
        Aap {
            child,
            port,
            token,
            data_dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn get(&self, path: &str) -> String {
        let auth = format!("Bearer {}", self.token);
        let (status, body) =
            http(("127.0.0.1", self.port), path, Some(&auth)).expect("the AAP stand-in answers");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Every job, oldest first.
    pub fn jobs(&self) -> Vec<Value> {
        let list: Value = serde_json::from_str(&self.get("/api/controller/v2/jobs/")).unwrap();
        list["results"].as_array().cloned().unwrap_or_default()
    }

    pub fn stdout(&self, job: u64) -> String {
        self.get(&format!("/api/controller/v2/jobs/{job}/stdout/?format=txt"))
    }
}

impl Drop for Aap {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// `GET path` on `addr` over HTTP/1.0: (status, body), or None when nothing answers
/// within 10 s (a firewall that drops the connection, a stopped machine).
pub fn http(addr: (&str, u16), path: &str, authorization: Option<&str>) -> Option<(u16, String)> {
    let socket = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .ok()?
        .next()?;
    let mut stream = std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(10)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {}\r\n{auth}\r\n",
        addr.0
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}
