use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Inside a run's sandbox this binary serves Terraform steps (see
    // promptops_terraform::step_server); that argument is not part of the command line.
    if let Some(code) = promptops_terraform::step_server::run_if_requested() {
        return code;
    }
    let cli = promptops::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("promptops: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(promptops::cli::run(cli))
}
