//! The `twostep` binary: command line, configuration and wiring.

mod admin_cli;
mod backup;
mod cli;
mod config;
mod doctor;
mod files;
mod hash_rate;
mod keyfile;
mod logs;
mod man;
mod metrics_server;
mod openssh;
mod progress;
mod requirements;
mod restore;
mod serve;
mod tls;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    files::private_umask();
    // One TLS provider for the whole process (HTTPS, the ACME client), whatever
    // features other crates switch on.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !matches!(cli.command, cli::Command::Serv(_)) {
        logs::to_stderr(cli.json_logs());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("twostep: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twostep: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
