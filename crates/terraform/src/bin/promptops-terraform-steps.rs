//! The step server on its own (`promptops-terraform-steps __terraform-step-server
//! <terraform>`), for this crate's tests; the service runs the same server as
//! `promptops __terraform-step-server <terraform>`.

use std::process::ExitCode;

fn main() -> ExitCode {
    promptops_terraform::step_server::run_if_requested().unwrap_or_else(|| {
        eprintln!(
            "usage: promptops-terraform-steps {} <terraform binary>",
            promptops_terraform::step_server::STEP_SERVER_ARG
        );
        ExitCode::from(2)
    })
}
