//! The block that tells a reviewer the configuration job failed: which host, at which
//! step, the job's page, and that `/promptops configure` retries. Rendered in the apply
//! (or configure) comment and in its check run's summary.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{code, inline};
use crate::aap_job::FailedJob;

/// What is known of a configuration job that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationFailure {
    pub job: FailedJob,
    /// The job's page on the controller, for people.
    pub job_page: Option<String>,
    /// The hosts the job failed on, from the controller's failed job events.
    pub hosts: Vec<HostFailure>,
    /// Why the hosts are not known (the controller was not asked, or did not answer).
    pub hosts_unknown: Option<String>,
}

/// One host's first failed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFailure {
    pub host: String,
    /// The task's name.
    pub step: String,
    /// The task's message, when it gave one.
    pub message: Option<String>,
}

/// Hosts listed; the rest are counted.
const MAX_HOSTS: usize = 10;

/// The block, as GitHub Markdown (a caution alert).
pub fn render_configuration_failure(failure: &ConfigurationFailure) -> String {
    let job = &failure.job;
    let job_name = match &failure.job_page {
        Some(page) => format!(
            "[AAP job {}]({})",
            job.id,
            page.replace(['(', ')', ' '], "")
        ),
        None => format!("AAP job {} (`{}`)", job.id, code(&job.api_path)),
    };
    let mut out = String::from("> [!CAUTION]\n");
    match failure.hosts.as_slice() {
        [] => {
            let _ = writeln!(
                out,
                "> **Configuration failed**: {job_name} ended `{}`.",
                job.end.as_str()
            );
        }
        [one] => {
            let _ = writeln!(out, "> **Configuration failed** {}", host_line(one));
        }
        hosts => {
            let _ = writeln!(
                out,
                "> **Configuration failed on {} hosts** ({job_name}):",
                hosts.len()
            );
            for host in hosts.iter().take(MAX_HOSTS) {
                let _ = writeln!(out, "> - {}", host_line(host));
            }
            if hosts.len() > MAX_HOSTS {
                let _ = writeln!(out, "> - and {} more", hosts.len() - MAX_HOSTS);
            }
        }
    }
    if failure.hosts.len() == 1 {
        let _ = writeln!(out, ">\n> {job_name} ended `{}`.", job.end.as_str());
    }
    if let Some(why) = &failure.hosts_unknown {
        let _ = writeln!(
            out,
            ">\n> Which host and step failed is in the job's output on AAP ({}).",
            inline(why)
        );
    }
    out.push_str(">\n> Fix the cause, then comment `/promptops configure` to retry: it runs the configuration job again on the deployment as it is, without changing its VMs.\n");
    out
}

fn host_line(host: &HostFailure) -> String {
    let mut line = format!(
        "on host `{}` at step **{}**",
        code(&host.host),
        inline(&host.step)
    );
    if let Some(message) = host.message.as_deref().filter(|m| !m.trim().is_empty()) {
        let mut message = inline(message.trim());
        if message.chars().count() > 300 {
            message = format!("{}…", message.chars().take(300).collect::<String>());
        }
        let _ = write!(line, ": {message}");
    }
    line
}
