//! PromptOps service. Its parts: `cli` (the commands), `app` (the one place the service is
//! wired from its settings), `http` (the front door: router, webhook extraction, listener,
//! metrics), `pipeline` (ingress, the job types, workers and their heartbeat), `handlers`
//! (what each job does), `web` (the dashboard), `setup` (connecting a GitHub App), `config`
//! (process settings) and `repo_config` (a repository's own settings). The pure core, the
//! planner, the GitHub edge, the store and the Terraform runner live in their own crates
//! under `crates/`.

pub mod aap;
pub mod app;
pub mod cli;
pub mod config;
pub mod dashboard_links;
pub mod handlers;
pub mod http;
pub mod pipeline;
pub(crate) mod repo_config;
pub mod schedule_metrics;
pub mod setup;
pub mod web;
