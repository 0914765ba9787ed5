//! The `candor` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = candor::cli::Cli::parse();
    candor::cli::main(cli)
}
