//! The service's integration tests, in one test binary (one link of the whole service
//! instead of one per file): the real router, workers and binary against the fake
//! GitHub, real Terraform, PostgreSQL and Chromium. Run one file's tests with
//! `cargo nextest run --test service -E 'test(/^<file>::/)'`.

mod lifecycle;
mod support;

mod app_events;
mod apply_retry;
mod bot_branches;
mod browser;
mod chain_e2e;
mod check_buttons;
mod check_terraform_version;
mod comment_calls;
mod dashboard;
mod dashboard_browser;
mod dashboard_local_link;
mod dashboard_oauth;
mod dashboard_repo_access;
mod dashboard_sessions;
mod dashboard_try_limit;
mod drift;
mod drift_issue_once;
mod expiry;
mod expiry_auto_merge;
mod expiry_replicas;
mod faults;
mod first_run;
mod front_door;
mod gave_up;
mod github_round_trips;
mod go_ahead;
mod house_rules;
mod ingress;
mod issue_to_pr;
mod job_logs;
mod large_prs;
mod lock_race;
mod merge_queue;
mod metrics;
mod operator_input;
mod plan_explanation;
mod planner_eval;
mod readiness;
mod render_cli;
mod replicas_postgres;
mod resilience;
mod review_boundary;
mod serve_binary;
mod setup;
mod setup_check;
mod setup_credentials;
mod setup_pages;
mod setup_sign_in;
mod shutdown;
mod terraform_commands;
mod terraform_destroy;
mod terraform_exfiltration;
mod terraform_lifecycle;
mod terraform_sandbox_missing;
