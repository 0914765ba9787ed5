//! `candor-stack`: start, seed, inspect and stop a persistent loopback Dovecot + Postfix stack.
//!
//! The demo and the benchmarks use it; the test script calls `candor-stack leftovers` after the
//! suite to prove that no stack process survived.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use candor::testkit::{self, MailStack, demo};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "A loopback Dovecot + Postfix stack for candor's demo, tests and benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Start a stack whose files live in DIR, add users, write DIR/stack.env and print it.
    Start {
        #[arg(long)]
        dir: PathBuf,
        /// A user to create (repeatable); passwords are generated and written to stack.env.
        #[arg(long = "user")]
        users: Vec<String>,
        /// Domains Postfix accepts mail for (repeatable; default: the test domains).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// Stop the stack in DIR and wait until its processes are gone.
    Stop {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Seed the demo mailbox (dated relative to today) for the demo users, creating them.
    SeedDemo {
        #[arg(long)]
        dir: PathBuf,
        /// The day the demo is dated against (default: today, local time).
        #[arg(long)]
        today: Option<jiff::civil::Date>,
    },
    /// Copy a Maildir++ tree (INBOX = FROM/cur and FROM/new, other folders FROM/.Name) into
    /// USER's Maildir, keeping file names and mtimes (= INTERNALDATE); creates USER if missing.
    SeedMaildir {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long)]
        from: PathBuf,
    },
    /// Print the ports, users and server processes of the stack in DIR.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Print the password of a user of the stack in DIR (for scripts writing a candor config).
    Password {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        user: String,
    },
    /// Print the messages of a user's folder: headers that matter and the start of the text.
    ShowFolder {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "INBOX")]
        folder: String,
    },
    /// List processes of any stack (or of DIR's); exit 1 if there are some.
    Leftovers {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("candor-stack: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Commands::Start {
            dir,
            users,
            domains,
        } => {
            let domains: Vec<&str> = if domains.is_empty() {
                testkit::DEFAULT_DOMAINS.to_vec()
            } else {
                domains.iter().map(String::as_str).collect()
            };
            let stack = MailStack::start_in(&dir, &domains)?;
            for user in &users {
                stack_user(&stack, user)?;
            }
            let env = write_env(&stack)?;
            print!("{env}");
            stack.detach();
        }
        Commands::Stop { dir } => {
            let stack = MailStack::attach(&dir)?;
            stack.stop_postfix()?;
            stack.stop_dovecot()?;
            let left = testkit::stack_processes(Some(stack.dir()));
            anyhow::ensure!(left.is_empty(), "processes still running: {left:?}");
        }
        Commands::SeedDemo { dir, today } => {
            let stack = MailStack::attach(&dir)?;
            let today = today.unwrap_or_else(|| jiff::ZonedDateTime::now().date());
            let mailbox = demo::demo_mailbox(today);
            let owner = stack_user(&stack, demo::RECRUITER)?;
            let others = demo::OTHER_USERS
                .iter()
                .map(|address| stack_user(&stack, address))
                .collect::<anyhow::Result<Vec<_>>>()?;
            for folder in ["INBOX", "Sent"] {
                let mut messages: Vec<_> = mailbox
                    .iter()
                    .filter(|(f, _)| f == folder)
                    .map(|(_, message)| message.clone())
                    .collect();
                // UIDs rise with arrival time in a real mailbox.
                messages.sort_by_key(|message| message.internal_date);
                stack.seed(&owner, folder, &messages)?;
            }
            // Jane's mail to a local demo user also lands in that user's INBOX, unread.
            let mut delivered = 0;
            for user in &others {
                let needle = format!("<{}>", user.address);
                let copies: Vec<_> = mailbox
                    .iter()
                    .filter(|(folder, message)| {
                        folder == "Sent" && to_header_contains(&message.raw, &needle)
                    })
                    .map(|(_, message)| testkit::SeedMessage {
                        flags: String::new(),
                        ..message.clone()
                    })
                    .collect();
                delivered += copies.len();
                stack.seed(user, "INBOX", &copies)?;
            }
            write_env(&stack)?;
            println!(
                "seeded {} messages for {} and {delivered} copies for {} other users",
                mailbox.len(),
                demo::RECRUITER,
                others.len()
            );
        }
        Commands::SeedMaildir { dir, user, from } => {
            let stack = MailStack::attach(&dir)?;
            let owner = stack_user(&stack, &user)?;
            let started = std::time::Instant::now();
            let root = testkit::maildir::maildir_root(&stack.dir().join("mail"), &owner.username);
            let vmail = testkit::process::ensure_vmail()?;
            let copied = testkit::maildir::copy_tree(&from, &root, vmail)
                .with_context(|| format!("seeding {} from {}", owner.username, from.display()))?;
            write_env(&stack)?;
            let elapsed = started.elapsed().as_secs_f64();
            for folder in &copied {
                println!(
                    "seeded {} messages ({} bytes) into {} of {}",
                    folder.messages, folder.bytes, folder.folder, owner.username
                );
            }
            let total: usize = copied.iter().map(|folder| folder.messages).sum();
            println!("seeded {total} messages in {elapsed:.1} s");
        }
        Commands::Status { dir } => {
            let stack = MailStack::attach(&dir)?;
            print!("{}", env_text(&stack)?);
            let pids = testkit::stack_processes(Some(stack.dir()));
            println!("# {} server processes: {pids:?}", pids.len());
        }
        Commands::Password { dir, user } => {
            let stack = MailStack::attach(&dir)?;
            let found = stack.users()?.into_iter().find(|u| u.address == user);
            let Some(found) = found else {
                anyhow::bail!("no user {user} in the stack in {}", dir.display());
            };
            print!("{}", found.password);
        }
        Commands::ShowFolder { dir, user, folder } => {
            let stack = MailStack::attach(&dir)?;
            let user = stack_user(&stack, &user)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let messages = runtime.block_on(stack.read_folder(&user, &folder))?;
            if messages.is_empty() {
                println!("{folder} of {} is empty", user.address);
            }
            for message in messages {
                print!("{}", describe_message(&message.raw, &message.flags));
            }
        }
        Commands::Leftovers { dir } => {
            let pids = testkit::stack_processes(dir.as_deref());
            if !pids.is_empty() {
                for pid in &pids {
                    println!("{pid} {}", describe(*pid));
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The user with `address`, created if missing.
fn stack_user(stack: &MailStack, address: &str) -> anyhow::Result<testkit::StackUser> {
    match stack
        .users()?
        .into_iter()
        .find(|user| user.address == address)
    {
        Some(user) => Ok(user),
        None => stack.add_user(address),
    }
}

fn to_header_contains(raw: &[u8], needle: &str) -> bool {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .any(|line| line.starts_with("To: ") && line.contains(needle))
}

fn write_env(stack: &MailStack) -> anyhow::Result<String> {
    let text = env_text(stack)?;
    let path = stack.dir().join("stack.env");
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok(text)
}

/// Shell-sourceable settings: ports, CA path and every user's password.
fn env_text(stack: &MailStack) -> anyhow::Result<String> {
    let mut text = format!(
        "CANDOR_STACK_DIR={}\nIMAP_HOST=127.0.0.1\nIMAP_PORT={}\nIMAPS_PORT={}\nSMTP_PORT={}\n\
         LMTP_PORT={}\nCA_FILE={}\nDOMAINS='{}'\n",
        quote(stack.dir()),
        stack.imap_port(),
        stack.imaps_port(),
        stack.smtp_port(),
        stack.lmtp_port(),
        quote(&stack.ca_file()),
        stack.domains().join(" ")
    );
    for (index, user) in stack.users()?.iter().enumerate() {
        let n = index + 1;
        // Addresses and generated passwords hold no shell metacharacters (checked on creation).
        text.push_str(&format!(
            "USER_{n}_ADDRESS='{}'\nUSER_{n}_PASSWORD='{}'\n",
            user.address, user.password
        ));
    }
    Ok(text)
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn describe(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline: Vec<String> = cmdline
        .split(|byte| *byte == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    cmdline.join(" ")
}

/// A short, readable view of one message for the demo.
fn describe_message(raw: &[u8], flags: &[String]) -> String {
    let Ok(message) = candor::mail::parse(raw) else {
        return "(a message candor cannot read)\n".to_owned();
    };
    let head = String::from_utf8_lossy(raw);
    let header = |name: &str| {
        head.split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .lines()
            .find(|l| {
                l.to_lowercase()
                    .starts_with(&format!("{}:", name.to_lowercase()))
            })
            .map(|l| l[name.len() + 1..].trim().to_owned())
            .unwrap_or_default()
    };
    let mut out = String::new();
    out.push_str(&format!("---- {}  [{}]\n", header("Date"), flags.join(" ")));
    out.push_str(&format!(
        "From: {}\nTo: {}\nSubject: {}\n",
        header("From"),
        header("To"),
        message.subject.unwrap_or_default()
    ));
    out.push_str(&format!(
        "In-Reply-To: {}\nX-Candor: {}\n\n",
        header("In-Reply-To"),
        header("X-Candor")
    ));
    for line in message.text.lines().take(12) {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out
}
