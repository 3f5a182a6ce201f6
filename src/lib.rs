//! PromptOps service: settings, the HTTP front door, ingress, workers and job handlers.
//! The pure core, the planner, the GitHub edge, the store and the Terraform runner live in
//! their own crates under `crates/`.

pub mod body_budget;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod eval_cmd;
pub mod handlers;
pub mod heartbeat;
pub mod http_server;
pub mod ingress;
pub mod jobs;
pub mod log_format;
pub mod metrics;
pub mod pr_text;
pub mod render_cmd;
pub mod repo_config;
pub mod schedule_metrics;
pub mod serve;
pub mod server;
pub mod service;
pub mod setup;
pub mod terraform_boundary;
pub mod web;
pub mod webhook_extract;
pub mod worker;
