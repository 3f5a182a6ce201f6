//! What every configured App shares, and how one App (from the environment, the
//! credentials file or the setup page) is turned into handlers and webhook secrets.

use std::sync::Arc;

use anyhow::Context as _;
use promptops_github::client::{GithubApp, RetryPolicy};
use promptops_github::webhook::WebhookSecrets;
use promptops_planner::Planner;
use promptops_store::Store;
use promptops_terraform::{Runner, RunnerConfig};
use secrecy::SecretString;

use super::terraform::key_mask_values;
use crate::handlers::Handlers;
use crate::setup::{ConfiguredApp, CredentialSource};

/// What every configured App shares, whatever its credentials' source.
pub(super) struct AppParts {
    pub api_url: String,
    pub planner: promptops_planner::PlannerSettings,
    pub catalog: promptops_core::Catalog,
    pub store: Store,
    /// The runner's settings, masking what this process's environment and settings hold;
    /// each App adds its own secrets. `None`: the service runs no Terraform.
    pub terraform: Option<RunnerConfig>,
    pub metrics: Arc<crate::http::metrics::Metrics>,
    /// The GitHub client's retry policy, when not its default.
    pub github_retry: Option<RetryPolicy>,
    /// Links to the dashboard's pages, when a public URL is set.
    pub links: crate::dashboard_links::DashboardLinks,
    /// What handlers date things by (expiry dates).
    pub clock: Arc<dyn promptops_core::clock::Clock>,
    /// The AAP controller failed configuration jobs are read from, when set.
    pub aap: Option<crate::aap::AapController>,
}

impl AppParts {
    /// `other_secrets`: further secrets of this App (the OAuth client secret from the
    /// credentials file) to mask in Terraform's output, besides its key and webhook secrets.
    pub fn configured_app(
        &self,
        app_id: u64,
        private_key: &SecretString,
        webhook_secrets: Vec<SecretString>,
        other_secrets: Vec<SecretString>,
        slug: Option<String>,
        source: CredentialSource,
    ) -> anyhow::Result<ConfiguredApp> {
        let terraform = self
            .terraform
            .as_ref()
            .map(|config| runner_for_app(config, private_key, &webhook_secrets, other_secrets))
            .transpose()?;
        let mut github = GithubApp::new(&self.api_url, app_id, private_key)
            .context("setting up the GitHub App client")?
            .with_observer(self.metrics.clone());
        if let Some(retry) = &self.github_retry {
            github = github.with_retry_policy(retry.clone());
        }
        Ok(ConfiguredApp {
            app_id,
            slug,
            source,
            handlers: Arc::new(Handlers {
                github: Arc::new(github),
                planner: Planner::from_settings(self.planner.clone())
                    .with_observer(self.metrics.clone()),
                catalog: Arc::new(self.catalog.clone()),
                store: self.store.clone(),
                terraform,
                links: self.links.clone(),
                metrics: self.metrics.clone(),
                clock: Arc::clone(&self.clock),
                explainer: promptops_planner::explainer_for(
                    &self.planner,
                    promptops_planner::RetryPolicy::default(),
                    Some(self.metrics.clone()),
                ),
                aap: self.aap.clone(),
            }),
            webhook_secrets: Arc::new(WebhookSecrets::new(webhook_secrets)),
        })
    }
}

/// The runner for one App: the shared settings, masking the App's own secrets too.
fn runner_for_app(
    config: &RunnerConfig,
    private_key: &SecretString,
    webhook_secrets: &[SecretString],
    other_secrets: Vec<SecretString>,
) -> anyhow::Result<Runner> {
    // The sandbox keeps the key and credentials file out of Terraform's reach; masking
    // stays the last line (e.g. with PROMPTOPS_TERRAFORM_SANDBOX=off).
    let mut terraform = config.clone();
    terraform.mask_values.extend(key_mask_values(private_key));
    terraform
        .mask_values
        .extend(webhook_secrets.iter().cloned());
    terraform.mask_values.extend(other_secrets);
    // No spare run is started here: the first run starts its own sandboxes and the spare
    // after it (the first run asks Terraform its version anyway), so a service that only
    // takes deliveries keeps neither the sandboxes' processes nor their memory.
    Runner::new(terraform).with_context(|| {
        format!(
            "setting up the Terraform runner in {}",
            config.work_root.display()
        )
    })
}
