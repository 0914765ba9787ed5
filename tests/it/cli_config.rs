//! Configuration errors as the user sees them: a table of bad files, each problem checked for
//! its line, key and message through `candor::config::load`, one file with many problems, and
//! `candor check-config` run as a binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use candor::config::{self, ConfigErrors};

/// A valid configuration; the cases below edit it by line number (1-based, as reported).
const BASE: &str = r#"[storage]
retention_days = 730

[logging]
level = "info"

[[account]]
name = "jane"
owner_name = "Jane Doe"
owner_addresses = ["jane@agency.example"]
timezone = "Europe/Berlin"
mode = "drafts"

[account.imap]
host = "imap.agency.example"
port = 993
tls = "implicit"
username = "jane@agency.example"
password_command = "echo imap-secret"

[account.smtp]
host = "smtp.agency.example"
port = 587
tls = "starttls"
password_command = "echo smtp-secret"

[account.scope]
mode = "all"
exclude = ["client.example"]

[account.policy]
follow_up_after_days = 5
max_follow_ups = 2

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri"]
work_hours = "09:00-17:00"
send_hours = "09:00-17:00"
holidays = ["2026-12-25"]

[account.digest]
schedule = "daily"
at = "08:00"
to = "jane@agency.example"
"#;

/// The account part of BASE (lines 7 to 25), to append a second account.
fn base_account() -> String {
    BASE.lines().skip(6).take(19).collect::<Vec<_>>().join("\n") + "\n"
}

enum Edit {
    /// Replace these lines (1-based) of BASE; the new text may span several lines.
    Lines(&'static [(usize, &'static str)]),
    /// Append to BASE.
    Append(String),
    /// A whole file.
    Whole(&'static str),
}

struct Case {
    name: &'static str,
    edit: Edit,
    /// 0o600 unless a case needs a group/world-readable file.
    mode: u32,
    line: usize,
    key: &'static str,
    fragment: &'static str,
    /// How many problems the file has in all.
    count: usize,
}

fn case(
    name: &'static str,
    edit: Edit,
    line: usize,
    key: &'static str,
    fragment: &'static str,
) -> Case {
    Case {
        name,
        edit,
        mode: 0o600,
        line,
        key,
        fragment,
        count: 1,
    }
}

fn apply(edit: &Edit) -> String {
    match edit {
        Edit::Lines(changes) => {
            let mut lines: Vec<String> = BASE.lines().map(str::to_owned).collect();
            for (line, text) in *changes {
                lines[line - 1] = (*text).to_owned();
            }
            lines.join("\n") + "\n"
        }
        Edit::Append(extra) => format!("{BASE}\n{extra}"),
        Edit::Whole(text) => (*text).to_owned(),
    }
}

/// `BASE` with its store in `dir`, written there as `NAME.toml` (owner-only): the config's path
/// and the store's.
pub(crate) fn base_with_store(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let store = dir.join("candor.db");
    let text = BASE.replace(
        "[storage]\n",
        &format!("[storage]\npath = \"{}\"\n", store.display()),
    );
    (write_config(dir, name, &text, 0o600), store)
}

/// Template overrides in `dir/templates`: (file name, text).
fn write_templates(dir: &Path, files: &[(&str, &str)]) {
    let templates = dir.join("templates");
    std::fs::create_dir(&templates).expect("templates dir");
    for (name, text) in files {
        std::fs::write(templates.join(name), text).expect("write template");
    }
}

fn write_config(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write config");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

fn cases() -> Vec<Case> {
    use Edit::*;
    vec![
        case(
            "unknown top-level key",
            Lines(&[(2, "retention_dayz = 730")]),
            2,
            "storage.retention_dayz",
            "unknown key \"retention_dayz\"",
        ),
        case(
            "unknown server key",
            Lines(&[(16, "prot = 993")]),
            16,
            "account[0].imap.prot",
            "unknown key \"prot\" in [account.imap]",
        ),
        case(
            "port as a string",
            Lines(&[(16, "port = \"993\"")]),
            16,
            "account[0].imap.port",
            "expected a whole number, found a string",
        ),
        case(
            "addresses as a string",
            Lines(&[(10, "owner_addresses = \"jane@agency.example\"")]),
            10,
            "account[0].owner_addresses",
            "expected an array of strings",
        ),
        case(
            "bad time zone",
            Lines(&[(11, "timezone = \"Europe/Berlinn\"")]),
            11,
            "account[0].timezone",
            "unknown time zone \"Europe/Berlinn\"",
        ),
        case(
            "bad owner address",
            Lines(&[(
                10,
                "owner_addresses = [\"jane@agency.example\", \"jane.agency.example\"]",
            )]),
            10,
            "account[0].owner_addresses[1]",
            "is not an email address",
        ),
        case(
            "port zero",
            Lines(&[(16, "port = 0")]),
            16,
            "account[0].imap.port",
            "must be at least 1",
        ),
        case(
            "port too large",
            Lines(&[(23, "port = 70000")]),
            23,
            "account[0].smtp.port",
            "must be at most 65535",
        ),
        case(
            "reversed time range",
            Lines(&[(37, "work_hours = \"17:00-09:00\"")]),
            37,
            "account[0].schedule.work_hours",
            "the start must be before the end",
        ),
        case(
            "malformed time range",
            Lines(&[(38, "send_hours = \"9-17\"")]),
            38,
            "account[0].schedule.send_hours",
            "is not a time",
        ),
        case(
            "two password sources",
            Lines(&[(
                19,
                "password_command = \"echo x\"\npassword_file = \"/run/pw\"",
            )]),
            20,
            "account[0].imap.password_file",
            "more than one password source",
        ),
        case(
            "no password source",
            Lines(&[(25, "# no password")]),
            21,
            "account[0].smtp.password",
            "no password source",
        ),
        Case {
            mode: 0o644,
            ..case(
                "world-readable literal password",
                Lines(&[(19, "password = \"hunter2\"")]),
                19,
                "account[0].imap.password",
                "chmod 600",
            )
        },
        Case {
            mode: 0o640,
            ..case(
                "group-readable literal password",
                Lines(&[(25, "password = \"hunter2\"")]),
                25,
                "account[0].smtp.password",
                "a literal password needs a private config file",
            )
        },
        // Found in review: both passed check-config and failed every connection with a name
        // lookup error.
        case(
            "port written in the host",
            Lines(&[(15, "host = \"imap.agency.example:993\"")]),
            15,
            "account[0].imap.host",
            "give the port in `port`",
        ),
        case(
            "bracketed IPv6 host",
            Lines(&[(22, "host = \"[::1]\""), (24, "tls = \"none\"")]),
            22,
            "account[0].smtp.host",
            "without brackets (\"::1\")",
        ),
        case(
            "plaintext to a public host",
            Lines(&[(24, "tls = \"none\"")]),
            24,
            "account[0].smtp.tls",
            "allowed only for loopback hosts",
        ),
        case(
            "auto without scope mode",
            Lines(&[(12, "mode = \"auto\""), (28, "# scope mode left out")]),
            12,
            "account[0].mode",
            "needs an explicit [account.scope] mode",
        ),
        case(
            "no account",
            Whole("[storage]\nretention_days = 730\n"),
            1,
            "account",
            "no account configured",
        ),
        case(
            "account as a plain table",
            Whole("[account]\nname = \"jane\"\n"),
            1,
            "account",
            "expected an array of tables",
        ),
        case(
            "duplicate account names",
            Append(base_account()),
            47,
            "account[1].name",
            "duplicate account name \"jane\"",
        ),
        case(
            "bad weekday",
            Lines(&[(36, "business_days = [\"mon\", \"funday\"]")]),
            36,
            "account[0].schedule.business_days[1]",
            "\"funday\" is not a weekday",
        ),
        case(
            "impossible date",
            Lines(&[(39, "holidays = [\"2026-02-30\"]")]),
            39,
            "account[0].schedule.holidays[0]",
            "is not a date in the calendar",
        ),
        case(
            "malformed date",
            Lines(&[(39, "holidays = [\"25.12.2026\"]")]),
            39,
            "account[0].schedule.holidays[0]",
            "write YYYY-MM-DD",
        ),
        case(
            "bad log level",
            Lines(&[(5, "level = \"verbose\"")]),
            5,
            "logging.level",
            "expected one of: error, warn, info, debug",
        ),
        case(
            "bad account mode",
            Lines(&[(12, "mode = \"yolo\"")]),
            12,
            "account[0].mode",
            "expected one of: auto, drafts, dry-run",
        ),
        case(
            "bad tls",
            Lines(&[(17, "tls = \"ssl\"")]),
            17,
            "account[0].imap.tls",
            "expected one of: implicit, starttls, none",
        ),
        case(
            "bad digest schedule",
            Lines(&[(42, "schedule = \"hourly\"")]),
            42,
            "account[0].digest.schedule",
            "expected one of: daily, weekly, off",
        ),
        case(
            "folders scope without folders",
            Lines(&[(28, "mode = \"folders\"")]),
            28,
            "account[0].scope.mode",
            "needs a non-empty scope.folders",
        ),
        case(
            "bad exclude entry",
            Lines(&[(29, "exclude = [\"not a domain\"]")]),
            29,
            "account[0].scope.exclude[0]",
            "neither an email address nor a domain",
        ),
        case(
            "bad account name",
            Lines(&[(8, "name = \"Jane Doe\"")]),
            8,
            "account[0].name",
            "is not a valid account name",
        ),
        case(
            "too many follow-ups",
            Lines(&[(33, "max_follow_ups = 3")]),
            33,
            "account[0].policy.max_follow_ups",
            "must be at most 2, found 3",
        ),
        case(
            "follow-up after zero days",
            Lines(&[(32, "follow_up_after_days = 0")]),
            32,
            "account[0].policy.follow_up_after_days",
            "must be at least 1",
        ),
        case(
            "negative daily cap",
            Lines(&[(39, "daily_cap = -1")]),
            39,
            "account[0].schedule.daily_cap",
            "must not be negative",
        ),
        case(
            "digest to a non-address",
            Lines(&[(44, "to = \"jane\"")]),
            44,
            "account[0].digest.to",
            "it needs an '@'",
        ),
        case(
            "digest at a bad time",
            Lines(&[(43, "at = \"8am\"")]),
            43,
            "account[0].digest.at",
            "is not a time",
        ),
        case(
            "unset variable in password_file",
            Lines(&[(25, "password_file = \"${CANDOR_TEST_UNSET_VARIABLE}/pw\"")]),
            25,
            "account[0].smtp.password_file",
            "environment variable CANDOR_TEST_UNSET_VARIABLE is not set",
        ),
        // Found in review: check-config said ok, and every connection failed.
        case(
            "missing ca_file",
            Lines(&[(
                19,
                "password_command = \"echo x\"\nca_file = \"missing-ca.pem\"",
            )]),
            20,
            "account[0].imap.ca_file",
            "cannot read the CA file",
        ),
        case(
            "ca_file without a certificate",
            Lines(&[(
                25,
                "password_command = \"echo x\"\nca_file = \"ca_file_without_a_certificate.toml\"",
            )]),
            26,
            "account[0].smtp.ca_file",
            "holds no certificate",
        ),
        // Found in review: taken relative to the configuration's directory, as `<dir>/~/...`.
        case(
            "home directory as ~",
            Lines(&[(25, "password_file = \"~/.candor/smtp-password\"")]),
            25,
            "account[0].smtp.password_file",
            "\"~\" is not expanded: write ${HOME}/",
        ),
        case(
            "syntax error",
            Lines(&[(16, "port = ")]),
            16,
            "syntax",
            "quoted",
        ),
        case(
            "missing owner name",
            Lines(&[(9, "# owner_name left out")]),
            7,
            "account[0].owner_name",
            "missing required key \"owner_name\"",
        ),
        case(
            "boolean as a string",
            Lines(&[(
                25,
                "password_command = \"echo x\"\nserver_saves_sent = \"yes\"",
            )]),
            26,
            "account[0].smtp.server_saves_sent",
            "expected a boolean",
        ),
        case(
            "alias group of one",
            Lines(&[(
                29,
                "exclude = [\"client.example\"]\naliases = [[\"ann@home.example\"]]",
            )]),
            30,
            "account[0].scope.aliases",
            "an alias group lists at least two addresses",
        ),
        case(
            "unknown sub-table",
            Append("[account.scope.extra]\n".to_owned()),
            46,
            "account[0].scope.extra",
            "unknown key \"extra\" in [account.scope]",
        ),
        Case {
            count: 2,
            ..case(
                "misspelled server table",
                Lines(&[(14, "[account.imapp]")]),
                7,
                "account[0].imap",
                "missing table [account.imap]",
            )
        },
    ]
}

fn load_case(dir: &Path, case: &Case) -> Result<config::Config, ConfigErrors> {
    let name = case.name.replace(' ', "_");
    let path = write_config(dir, &name, &apply(&case.edit), case.mode);
    config::load(&path)
}

#[test]
fn base_config_is_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), "base", BASE, 0o644);
    match config::load(&path) {
        Ok(config) => assert_eq!(config.accounts[0].name, "jane"),
        Err(errors) => panic!("BASE has problems:\n{errors}"),
    }
}

#[test]
fn each_bad_config_reports_its_line_key_and_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = cases();
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for case in &cases {
        let problems = match load_case(dir.path(), case) {
            Ok(_) => {
                failures.push(format!("{}: accepted", case.name));
                continue;
            }
            Err(errors) => errors.problems,
        };
        let found = problems
            .iter()
            .any(|p| p.line == case.line && p.key == case.key && p.message.contains(case.fragment));
        let shown: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        if !found || problems.len() != case.count {
            failures.push(format!(
                "{}: expected {} problem(s) including line {} key {} ~ {:?}; got:\n{}",
                case.name,
                case.count,
                case.line,
                case.key,
                case.fragment,
                shown.join("\n")
            ));
        }
        for problem in &problems {
            let lowercase_start = problem
                .message
                .chars()
                .next()
                .is_some_and(|c| !c.is_uppercase());
            if !lowercase_start || problem.message.ends_with('.') {
                failures.push(format!("{}: message style: {problem}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const MANY_PROBLEMS: &str = r#"[storage]
retention_days = -1
colour = "blue"

[logging]
format = "xml"

[[account]]
name = "jane"
owner_name = "Jane Doe"
owner_addresses = ["jane@agency"]
timezone = "Nowhere/City"
mode = "auto"

[account.imap]
host = "imap.agency.example"
tls = "none"
username = "jane"
password = "hunter2"

[account.smtp]
host = "smtp.agency.example"
port = 0

[account.schedule]
business_days = ["mon", "xyz"]
send_hours = "18:00-08:00"

[[account]]
name = "jane"
"#;

#[test]
fn several_problems_are_reported_in_one_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), "many", MANY_PROBLEMS, 0o644);
    let errors = config::load(&path).expect_err("many problems");
    let got: Vec<(usize, &str)> = errors
        .problems
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect();
    let expected = vec![
        (2, "storage.retention_days"),
        (3, "storage.colour"),
        (6, "logging.format"),
        (11, "account[0].owner_addresses[0]"),
        (12, "account[0].timezone"),
        (13, "account[0].mode"),
        (17, "account[0].imap.tls"),
        (19, "account[0].imap.password"),
        (21, "account[0].smtp.password"),
        (23, "account[0].smtp.port"),
        (26, "account[0].schedule.business_days[1]"),
        (27, "account[0].schedule.send_hours"),
        (29, "account[1].owner_name"),
        (29, "account[1].owner_addresses"),
        (29, "account[1].timezone"),
        (29, "account[1].imap"),
        (29, "account[1].smtp"),
        (30, "account[1].name"),
    ];
    assert_eq!(got, expected, "{errors}");
    // Display: one line per problem, FILE:LINE: KEY: MESSAGE.
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), expected.len());
    let first = shown.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "{}:2: storage.retention_days: must be at least 1, found -1",
            path.display()
        )
    );
}

/// Found in review: a file saved in Latin-1 was reported at line 1 ("stream did not contain
/// valid UTF-8"), whichever line held the first byte that is not UTF-8.
#[test]
fn a_file_that_is_not_utf8_names_its_first_bad_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latin1.toml");
    let text = BASE.replace("Jane Doe", "Ren\u{e9}e Doe");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect();
    std::fs::write(&path, bytes).expect("write config");
    let errors = config::load(&path).expect_err("not UTF-8");
    assert_eq!(errors.problems.len(), 1, "{errors}");
    let problem = &errors.problems[0];
    assert_eq!(
        (problem.line, problem.key.as_str()),
        (9, "file"),
        "{errors}"
    );
    assert!(problem.message.contains("UTF-8"), "{errors}");
}

fn run_check_config(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(path)
        .arg("check-config")
        .output()
        .expect("run candor")
}

/// Needs the CLI (`candor check-config`, written separately): exit 2 with the problems on stderr
/// for a bad file, exit 0 with one line per account for a good one.
#[test]
fn check_config_command_reports_problems_and_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write_config(dir.path(), "bad", MANY_PROBLEMS, 0o600);
    let errors = config::load(&bad).expect_err("bad config");
    let output = run_check_config(&bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    for problem in &errors.problems {
        let line = problem.to_string();
        assert!(
            stderr.lines().any(|l| l == line),
            "missing {line:?} in stderr:\n{stderr}"
        );
    }

    let good = write_config(
        dir.path(),
        "good",
        &(BASE.to_owned() + "\n" + &second_account()),
        0o600,
    );
    let output = run_check_config(&good);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["jane", "ann"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "no line for {name} in:\n{stdout}"
        );
    }
}

fn second_account() -> String {
    base_account()
        .replace("name = \"jane\"", "name = \"ann\"")
        .replace("jane@agency.example", "ann@agency.example")
}

/// Found in review: `candidate exclude @bigco.example` said the domain was excluded while it
/// matched nobody, and `candidate add foo@` was taken. The command line is as strict as the
/// configuration's lists: exit 2 with the reason, nothing recorded.
#[test]
fn candidate_add_and_exclude_refuse_what_the_config_would_refuse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, _) = base_with_store(dir.path(), "marks");
    let candidate = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_candor"))
            .arg("--config")
            .arg(&path)
            .arg("candidate")
            .args(args)
            .output()
            .expect("run candor")
    };
    for (change, address) in [
        ("exclude", "@bigco.example"),
        ("exclude", "bigco.example."),
        ("exclude", "boss@bigco.example>"),
        ("exclude", "bigco"),
        ("add", "foo@"),
        ("add", "@@"),
        ("add", "ann.candidates.example"),
    ] {
        let out = candidate(&[change, address]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{change} {address}: {stderr}");
        assert!(stderr.contains(address), "{change} {address}: {stderr}");
    }
    for (change, address) in [
        ("exclude", "BigCo.example"),
        ("exclude", "boss@bigco.example"),
        ("add", "Ann@Candidates.example"),
    ] {
        let out = candidate(&[change, address]);
        assert!(
            out.status.success(),
            "{change} {address}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Found in review: `check-config` said ok with a template override that does not parse, which
/// then stopped the daemon's start, and a misspelt variable failed only when an email was due.
/// Every problem of the templates is reported at once, naming the file; exit 2.
#[test]
fn check_config_reports_every_bad_template_override() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), "candor", BASE, 0o600);
    write_templates(
        dir.path(),
        &[
            ("follow_up_1.txt", "Hi {{ candidate.first_name }\n"),
            (
                "follow_up_2.html",
                "<p>Hi {{ candidate.frist_name }},</p>\n",
            ),
            (
                "closure_silence.txt",
                "Hi {{ candidate.first_name }},\n\n{{ owner.signature }}\n",
            ),
        ],
    );
    let templates = dir.path().join("templates");
    let output = run_check_config(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let follow_up_1 = templates.join("follow_up_1.txt").display().to_string();
    let follow_up_2 = templates.join("follow_up_2.html").display().to_string();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&follow_up_1) && l.contains("does not parse")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&follow_up_2) && l.contains("frist_name")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("closure_silence"),
        "a good override is fine: {stderr}"
    );
    assert!(stderr.contains("2 problems in the templates"), "{stderr}");

    std::fs::remove_file(templates.join("follow_up_1.txt")).unwrap();
    std::fs::remove_file(templates.join("follow_up_2.html")).unwrap();
    let output = run_check_config(&path);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Found in review: `run --once` (and the daemon, and `digest`) stopped at the first template
/// override that does not parse with exit 1, and started with a misspelt variable, which failed
/// only when an email of its kind was due. They check the templates as check-config does:
/// every problem, exit 2, before anything else.
#[test]
fn run_and_digest_refuse_bad_template_overrides_as_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, store) = base_with_store(dir.path(), "candor");
    write_templates(
        dir.path(),
        &[
            ("follow_up_1.txt", "Hi {{ candidate.first_name }\n"),
            ("closure_silence.txt", "Hi {{ candidate.frist_name }},\n"),
        ],
    );
    for args in [&["run", "--once"][..], &["digest", "--print"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_candor"))
            .arg("--config")
            .arg(&path)
            .args(args)
            .output()
            .expect("run candor");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("follow_up_1.txt"), "{args:?}: {stderr}");
        assert!(stderr.contains("frist_name"), "{args:?}: {stderr}");
        assert!(!store.exists(), "{args:?}: the store was opened");
    }
}
