//! The command line (SPEC §11): argument definitions and dispatch to the library.
//!
//! Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration. Commands whose issue has
//! not landed yet say so and exit 1; none pretends to work.

mod commands;
mod decisions;
mod digest;
mod logging;
mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{self, Config};

/// candor keeps recruiting conversations from going dark: it follows every conversation with
/// every candidate, measures how long each side takes to answer, follows up politely with
/// candidates who went quiet, closes the loop when a process ends, and tells you who is waiting
/// on whom.
#[derive(Debug, Parser)]
#[command(name = "candor", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Configuration file [default: $CANDOR_CONFIG, else /etc/candor/candor.toml as root or under
    /// systemd, else $XDG_CONFIG_HOME/candor/candor.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Start candor's clock at this instant (RFC 3339) and let it run at real speed; for tests
    /// and simulations only
    #[arg(long, global = true, hide = true, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: follow the mailboxes, act on due conversations, send digests
    Run {
        /// Run one full cycle (sync, plan, send) and exit
        #[arg(long)]
        once: bool,
    },
    /// Check the configuration file and print one line per account
    CheckConfig,
    /// Fetch new mail of every account once, then exit
    Sync,
    /// Show what the daemon is doing, per account
    Status(JsonFlag),
    /// Show the emails candor would send next, and the conversations it holds back
    Plan(JsonFlag),
    /// List candidates: who is waiting on whom, and for how long
    Candidates(JsonFlag),
    /// Look at or act on one candidate
    #[command(subcommand)]
    Candidate(CandidateCommand),
    /// Look at or cancel the emails candor queued
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Print or send the summary email
    Digest(DigestArgs),
    /// Print figures per account as JSON
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AccountArg {
    /// The account, when the configuration has more than one
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CandidateCommand {
    /// Show the conversation with a candidate as a timeline, its state and what candor does next
    Show {
        /// The candidate's email address, plain (ann@example.com)
        address: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Put a candidate in scope (scope.mode = "explicit")
    Add {
        /// The candidate's email address, plain (ann@example.com)
        address: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Decide the outcome: a closure email goes out after the cancel window
    Close {
        /// The candidate's email address, plain (ann@example.com)
        address: String,
        /// position_filled | not_selected | no_current_role | withdrawn
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Stop automated mail to a candidate, until a date or until resumed
    Pause {
        /// The candidate's email address, plain (ann@example.com)
        address: String,
        /// Resume automatically on this date (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Lift a pause, hold, bounce or opt-out, and cancel a pending closure
    Resume {
        /// The candidate's email address, plain (ann@example.com)
        address: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Never send automated mail to this address or domain
    Exclude {
        /// An email address (ann@example.com) or a whole domain (example.com)
        address: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Treat two addresses as the same candidate
    Merge {
        /// One address of the person, plain (ann@example.com)
        address: String,
        /// Their other address
        other: String,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Erase everything stored about a person
    Forget {
        /// The person's email address, plain (ann@example.com)
        address: String,
        #[command(flatten)]
        account: AccountArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List queued, sent and failed emails
    List(JsonFlag),
    /// Cancel a queued email
    Cancel {
        /// The email's id, as `candor outbox list` shows it
        id: i64,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DigestArgs {
    /// Print the digest as plain text
    #[arg(long)]
    pub print: bool,
    /// Send the digest now
    #[arg(long)]
    pub send: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON (the only format for now)
    #[arg(long)]
    pub json: bool,
    /// Start of the window, inclusive (RFC 3339 or YYYY-MM-DD) [default: 90 days before its end]
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// End of the window, exclusive (RFC 3339 or YYYY-MM-DD) [default: now]
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

/// Runs the parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(crate::paths::default_config_path);
    let clock = match cli.now {
        Some(start) => Clock::starting_at(start),
        None => Clock::system(),
    };
    match cli.command {
        Command::CheckConfig => check_config(&config_path),
        other => {
            if !matches!(other, Command::Run { .. }) {
                restore_sigpipe();
            }
            let config = match load_config(&config_path) {
                Ok(config) => config,
                Err(code) => return code,
            };
            // The commands that render emails check the templates as check-config does: found
            // in review, `run` stopped at the first bad override with exit 1, and started with a
            // misspelt variable that failed only when an email of its kind was due.
            if matches!(other, Command::Run { .. } | Command::Digest(_))
                && let Err(code) = check_templates(&config, &config_path)
            {
                return code;
            }
            logging::init(&config.logging);
            if let Some(start) = cli.now {
                tracing::warn!(%start, "the clock was started at --now; this is for tests and simulations");
            }
            dispatch(other, config, clock)
        }
    }
}

/// Commands that need a loaded configuration.
fn dispatch(command: Command, config: Config, clock: Clock) -> ExitCode {
    match command {
        Command::Sync => with_runtime(commands::sync(config, clock)),
        Command::Run { once: true } => with_runtime(commands::run(config, clock, true)),
        Command::Run { once: false } => with_daemon_runtime(commands::run(config, clock, false)),
        Command::Stats(args) => commands::stats(&config, &args, clock),
        Command::Status(args) => status::status(&config, args.json, clock),
        Command::Plan(args) => commands::plan(&config, args.json, clock),
        Command::Candidates(args) => commands::candidates(&config, args.json, clock),
        Command::Candidate(CandidateCommand::Show { address, account }) => {
            commands::candidate_show(&config, &address, account.account.as_deref(), clock)
        }
        Command::Candidate(CandidateCommand::Add { address, account }) => commands::candidate_mark(
            &config,
            &address,
            account.account.as_deref(),
            clock,
            commands::MarkChange::Add,
        ),
        Command::Candidate(CandidateCommand::Exclude { address, account }) => {
            commands::candidate_mark(
                &config,
                &address,
                account.account.as_deref(),
                clock,
                commands::MarkChange::Exclude,
            )
        }
        Command::Candidate(CandidateCommand::Merge {
            address,
            other,
            account,
        }) => {
            commands::candidate_merge(&config, &address, &other, account.account.as_deref(), clock)
        }
        Command::Candidate(CandidateCommand::Close {
            address,
            outcome,
            account,
        }) => decisions::close(
            &config,
            &address,
            &outcome,
            account.account.as_deref(),
            clock,
        ),
        Command::Candidate(CandidateCommand::Pause {
            address,
            until,
            account,
        }) => decisions::pause(
            &config,
            &address,
            until.as_deref(),
            account.account.as_deref(),
            clock,
        ),
        Command::Candidate(CandidateCommand::Resume { address, account }) => {
            decisions::resume(&config, &address, account.account.as_deref(), clock)
        }
        Command::Candidate(CandidateCommand::Forget { address, account }) => {
            decisions::forget(&config, &address, account.account.as_deref(), clock)
        }
        Command::Outbox(OutboxCommand::List(args)) => decisions::outbox_list(&config, args.json),
        Command::Outbox(OutboxCommand::Cancel { id }) => {
            decisions::outbox_cancel(&config, id, clock)
        }
        Command::Digest(args) => digest::digest(&config, args.send, clock),
        other => not_yet(&other),
    }
}

/// One-shot commands run their async part on the calling thread. Their CPU work (parsing and
/// storing mail) is on blocking threads already; a pool of workers only added wake-ups between
/// them (issue 4: 11% of the CPU of a first sync of 100k messages).
fn with_runtime(future: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    run_on(tokio::runtime::Builder::new_current_thread(), future, None)
}

/// The daemon gets a pool of workers: its accounts sync side by side, and one busy account
/// never delays another one's IDLE or the outbox.
fn with_daemon_runtime(future: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    run_on(
        tokio::runtime::Builder::new_multi_thread(),
        future,
        Some(DAEMON_BLOCKING_THREADS_AT_EXIT),
    )
}

/// How long the daemon's exit waits for blocking threads still at work once it has stopped.
/// The stop already ended its accounts and killed any password command; what may remain is a
/// thread the stop cut loose (a host name lookup, a store call of a task that did not stop in
/// time), which must not keep the process past the 10 s a stop may take (systemd's
/// TimeoutStopSec is 20 s). Leaving one unfinished is as safe as a crash: every commit is
/// atomic. One-shot commands wait for theirs, as before.
const DAEMON_BLOCKING_THREADS_AT_EXIT: Duration = Duration::from_secs(1);

fn run_on(
    mut builder: tokio::runtime::Builder,
    future: impl std::future::Future<Output = ExitCode>,
    blocking_threads_at_exit: Option<Duration>,
) -> ExitCode {
    match builder.enable_all().build() {
        Ok(runtime) => {
            let code = runtime.block_on(future);
            if let Some(within) = blocking_threads_at_exit {
                runtime.shutdown_timeout(within);
            }
            code
        }
        Err(err) => {
            eprintln!("candor: cannot start the async runtime: {err}");
            ExitCode::from(1)
        }
    }
}

/// One-shot commands die quietly on a closed pipe (`candor stats --json | head`), like other
/// command-line tools; the daemon keeps Rust's default (ignored, errors instead).
fn restore_sigpipe() {
    // SAFETY: setting a signal disposition to its default has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Loads the configuration, printing every problem and mapping failure to exit code 2.
fn load_config(path: &Path) -> Result<Config, ExitCode> {
    match config::load(path) {
        Ok(config) => Ok(config),
        Err(errors) => {
            for problem in &errors.problems {
                eprintln!("{problem}");
            }
            let n = errors.problems.len();
            eprintln!(
                "candor: {} problem{} in {}",
                n,
                if n == 1 { "" } else { "s" },
                path.display()
            );
            Err(ExitCode::from(2))
        }
    }
}

fn check_config(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    // The templates beside the file too: a bad override stops the daemon's start and every
    // email of its kind (found in review: check-config said ok).
    if let Err(code) = check_templates(&config, path) {
        return code;
    }
    println!(
        "{}: ok, store {}",
        config.source.display(),
        config.storage.path.display()
    );
    for account in &config.accounts {
        println!("{}", account_summary(account));
    }
    ExitCode::SUCCESS
}

/// Every problem of the template overrides beside the configuration file, printed; exit 2.
fn check_templates(config: &Config, path: &Path) -> Result<(), ExitCode> {
    let problems = crate::outbox::compose::Templates::check(config.source.parent());
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    let n = problems.len();
    eprintln!(
        "candor: {n} problem{} in the templates beside {}",
        if n == 1 { "" } else { "s" },
        path.display()
    );
    Err(ExitCode::from(2))
}

fn account_summary(account: &config::Account) -> String {
    format!(
        "{name}: {owner} <{address}>, imap {ih}:{ip} ({it}), smtp {sh}:{sp} ({st}), mode {mode}, scope {scope}, {tz}",
        name = account.name,
        owner = account.owner_name,
        address = account
            .owner_addresses
            .first()
            .map(String::as_str)
            .unwrap_or("?"),
        ih = account.imap.host,
        ip = account.imap.port,
        it = account.imap.tls.as_str(),
        sh = account.smtp.server.host,
        sp = account.smtp.server.port,
        st = account.smtp.server.tls.as_str(),
        mode = account.mode.as_str(),
        scope = account.scope.mode.as_str(),
        tz = account.timezone_name,
    )
}

/// The answer of a command whose issue has not landed: honest, exit 1.
fn not_yet(command: &Command) -> ExitCode {
    let name = match command {
        Command::Run { .. } => "run",
        Command::CheckConfig => "check-config",
        Command::Sync => "sync",
        Command::Status(_) => "status",
        Command::Plan(_) => "plan",
        Command::Candidates(_) => "candidates",
        Command::Candidate(_) => "candidate",
        Command::Outbox(_) => "outbox",
        Command::Digest(_) => "digest",
        Command::Stats(_) => "stats",
    };
    eprintln!("candor {name}: not available yet in this version");
    ExitCode::from(1)
}
