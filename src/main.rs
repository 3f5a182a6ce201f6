use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
