//! The AAP controller, read for what a failed configuration job did: its failed events
//! (`GET <api path of the job>job_events/?failed=true`, the controller API's job event list)
//! name the host and the step, and its page is linked for people. Optional: without the
//! settings, reports say that the job failed and how to retry, without the host.

use std::time::Duration;

use clap::Args;
use promptops_terraform::aap_job::FailedJob;
use promptops_terraform::comment::{ConfigurationFailure, HostFailure};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// How long one question to the controller may take: a report waits for it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The host a playbook's controller-side plays run on; its failure only sums up those of
/// the hosts being configured, so it is left out when they are named.
const CONTROLLER_HOST: &str = "localhost";

#[derive(Debug, Clone, Default, Args)]
pub struct AapArgs {
    /// The AAP controller's address (e.g. `https://aap.example.com`): a failed configuration
    /// job is linked to its page there.
    #[arg(long, env = "PROMPTOPS_AAP_URL")]
    pub aap_url: Option<String>,
    /// A token that may read the controller's jobs (OAuth2 token of a read-only user): with
    /// it, a failed configuration job's report names the host and the step that failed.
    #[arg(long, env = "PROMPTOPS_AAP_TOKEN", hide_env_values = true)]
    pub aap_token: Option<SecretString>,
}

impl AapArgs {
    /// The controller, when `PROMPTOPS_AAP_URL` is set; a token without it, or an address
    /// that is not one, stops the start.
    pub fn controller(&self) -> anyhow::Result<Option<AapController>> {
        let url = self
            .aap_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let token = self
            .aap_token
            .clone()
            .filter(|t| !t.expose_secret().trim().is_empty());
        let Some(url) = url else {
            if token.is_some() {
                anyhow::bail!(
                    "PROMPTOPS_AAP_TOKEN is set without PROMPTOPS_AAP_URL: set the controller's address too (e.g. https://aap.example.com), or unset the token"
                );
            }
            return Ok(None);
        };
        let base = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "PROMPTOPS_AAP_URL {url:?} is not an http(s) address with a host; give the AAP controller's address, e.g. https://aap.example.com"
                )
            })?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|err| anyhow::anyhow!("setting up the AAP client: {err}"))?;
        Ok(Some(AapController { base, token, http }))
    }
}

/// The controller PromptOps reads failed jobs from.
#[derive(Clone)]
pub struct AapController {
    base: url::Url,
    token: Option<SecretString>,
    http: reqwest::Client,
}

impl std::fmt::Debug for AapController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AapController")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Deserialize)]
struct EventPage {
    results: Vec<JobEvent>,
}

#[derive(Deserialize)]
struct JobEvent {
    #[serde(default)]
    host_name: String,
    #[serde(default)]
    task: String,
    #[serde(default)]
    event_data: serde_json::Value,
}

impl AapController {
    /// What is known of `job`: its page, and with a token the hosts it failed on.
    pub async fn describe(&self, job: &FailedJob) -> ConfigurationFailure {
        let (hosts, hosts_unknown) = match self.failed_hosts(job).await {
            Ok(hosts) => (hosts, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        ConfigurationFailure {
            job: job.clone(),
            job_page: Some(self.job_page(job.id)),
            hosts,
            hosts_unknown,
        }
    }

    /// The job's output page in the controller's web interface.
    fn job_page(&self, id: u64) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        format!("{base}/execution/jobs/playbook/{id}/output")
    }

    /// Each host's first failed step, hosts in the order they failed.
    async fn failed_hosts(&self, job: &FailedJob) -> Result<Vec<HostFailure>, String> {
        let Some(token) = &self.token else {
            return Err("set PROMPTOPS_AAP_TOKEN to have them here".into());
        };
        let mut url = self
            .base
            .join(&format!("{}job_events/", job.api_path))
            .map_err(|err| format!("the job's path {} is not usable: {err}", job.api_path))?;
        url.query_pairs_mut()
            .append_pair("failed", "true")
            .append_pair("order_by", "counter")
            .append_pair("page_size", "200");
        let page: EventPage = self
            .http
            .get(url.clone())
            .bearer_auth(token.expose_secret())
            .header("Accept", "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| format!("AAP did not answer {}: {err}", url.path()))?
            .json()
            .await
            .map_err(|err| format!("AAP's answer to {} could not be read: {err}", url.path()))?;
        Ok(first_failure_per_host(page.results))
    }
}

fn first_failure_per_host(events: Vec<JobEvent>) -> Vec<HostFailure> {
    let mut hosts: Vec<HostFailure> = Vec::new();
    for event in events.into_iter().filter(|e| !e.host_name.is_empty()) {
        if hosts.iter().any(|h| h.host == event.host_name) {
            continue;
        }
        let message = event.event_data["res"]["msg"].as_str().map(str::to_owned);
        hosts.push(HostFailure {
            host: event.host_name,
            step: event.task,
            message,
        });
    }
    if hosts.iter().any(|h| h.host != CONTROLLER_HOST) {
        hosts.retain(|h| h.host != CONTROLLER_HOST);
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(host: &str, task: &str, msg: &str) -> JobEvent {
        JobEvent {
            host_name: host.into(),
            task: task.into(),
            event_data: serde_json::json!({"res": {"msg": msg}}),
        }
    }

    #[test]
    fn each_host_is_named_once_with_its_first_failed_step_and_the_summary_host_goes() {
        let hosts = first_failure_per_host(vec![
            event(
                "127.2.0.9",
                "Wait until the host accepts the certificate",
                "timed out",
            ),
            event("127.2.0.9", "Later", "x"),
            event("", "stats", ""),
            event(
                "localhost",
                "Fail unless every host was configured",
                "One or more items failed",
            ),
        ]);
        assert_eq!(
            hosts,
            vec![HostFailure {
                host: "127.2.0.9".into(),
                step: "Wait until the host accepts the certificate".into(),
                message: Some("timed out".into()),
            }]
        );
        let only_controller =
            first_failure_per_host(vec![event("localhost", "Unwrap the secret_id", "403")]);
        assert_eq!(only_controller[0].host, "localhost");
    }

    #[test]
    fn a_token_without_an_address_or_a_bad_address_is_refused() {
        let args = AapArgs {
            aap_url: None,
            aap_token: Some(SecretString::from("t0ken-value".to_owned())),
        };
        let err = args.controller().unwrap_err().to_string();
        assert!(err.contains("without PROMPTOPS_AAP_URL"), "{err}");
        let args = AapArgs {
            aap_url: Some("aap.example.com".into()),
            aap_token: None,
        };
        let err = args.controller().unwrap_err().to_string();
        assert!(err.contains("is not an http(s) address"), "{err}");
        assert!(AapArgs::default().controller().unwrap().is_none());
    }
}
