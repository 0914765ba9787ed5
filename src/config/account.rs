//! The document as a whole: `[storage]`, `[logging]` and each `[[account]]` with its identity,
//! servers and cross-field rules (unique names, `auto` needs an explicit scope).

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use super::keys;
use super::reader::{Ctx, Section, Val};
use super::sections::{build_digest, build_folders, build_policy, build_schedule, build_scope};
use super::server::{ServerKind, build_server, expand_path};
use super::values::{check_account_name, check_address, check_domain};
use super::{Account, Config, LogFormat, LogLevel, Logging, Mode, Smtp, Storage};

pub(super) fn build_config(ctx: &mut Ctx<'_>, text: &str) -> Option<Config> {
    // Every syntax error at once, then the rest of the document as the parser recovered it:
    // one error no longer hides every other problem (found in review).
    let (document, errors) = DeTable::parse_recoverable(text);
    for error in &errors {
        let span = error.span().unwrap_or(0..0);
        let mut message = error.message().trim().trim_end_matches('.').to_owned();
        // "duplicate key" alone does not say which.
        if message == "duplicate key"
            && let Some(key) = text
                .get(span.clone())
                .map(str::trim)
                .filter(|k| !k.is_empty())
        {
            message = format!("duplicate key {key}");
        }
        ctx.report(&span, "syntax", message);
    }
    let root = Section::open(ctx, document.get_ref(), String::new(), 0..0, keys::ROOT);
    let storage = build_storage(ctx, &root);
    let logging = build_logging(ctx, &root);
    let account_sections = root.tables(ctx, "account", keys::ACCOUNT);
    let account_sections = account_sections.unwrap_or_default();
    if account_sections.is_empty()
        && root
            .raw("account")
            .is_none_or(|v| matches!(v.value, DeValue::Array(_)))
    {
        let span = root.raw("account").map_or(0..0, |v| v.span);
        ctx.report(
            &span,
            "account",
            "no account configured: add an [[account]] table",
        );
    }
    let mut accounts = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut mailboxes: BTreeMap<(String, u16, String), String> = BTreeMap::new();
    for section in &account_sections {
        let name = section.string(ctx, "name");
        let mut duplicate_name = false;
        if let Some(name) = &name {
            match names.get(&name.value) {
                Some(first) => {
                    duplicate_name = true;
                    let message = format!(
                        "duplicate account name {:?} (also used by {first}): names must be unique",
                        name.value
                    );
                    ctx.report_at(name, message);
                }
                None => {
                    names.insert(name.value.clone(), section.path.clone());
                }
            }
        }
        if let Some(account) = build_account(ctx, section) {
            // Each account has its own outbox and its own gates: two that write (send or
            // draft) from one mailbox would each follow up and close the same candidates. A
            // dry-run account only records, and may watch a mailbox beside another.
            let mailbox = (
                account.imap.host.to_lowercase(),
                account.imap.port,
                account.imap.username.clone(),
            );
            // A repeated name is reported already: one problem, one message.
            if account.mode != crate::config::Mode::DryRun && !duplicate_name {
                match mailboxes.entry(mailbox) {
                    std::collections::btree_map::Entry::Occupied(first) => {
                        let (host, port, user) = first.key();
                        let message = format!(
                            "account {:?} reads the same mailbox as account {:?} \
                             ({user}@{host}:{port}): each would write to the same candidates; \
                             make them one account",
                            account.name,
                            first.get()
                        );
                        match &name {
                            Some(name) => ctx.report_at(name, message),
                            None => ctx.report(&(0..0), "account", message),
                        }
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(account.name.clone());
                    }
                }
            }
            accounts.push(account);
        }
    }
    Some(Config {
        source: ctx.file.to_path_buf(),
        storage,
        logging,
        accounts,
    })
}

fn build_storage(ctx: &mut Ctx<'_>, root: &Section<'_, '_>) -> Storage {
    let section = root.table(ctx, "storage", keys::STORAGE);
    let path = section
        .as_ref()
        .and_then(|s| s.string(ctx, "path"))
        .and_then(|p| expand_path(ctx, &p))
        .unwrap_or_else(crate::paths::default_store_path);
    let retention_days = section
        .as_ref()
        .map_or(730, |s| s.number(ctx, "retention_days", 1, u32::MAX, 730));
    Storage {
        path,
        retention_days,
    }
}

fn build_logging(ctx: &mut Ctx<'_>, root: &Section<'_, '_>) -> Logging {
    let section = root.table(ctx, "logging", keys::LOGGING);
    let level = section
        .as_ref()
        .and_then(|s| s.choice::<LogLevel>(ctx, "level"))
        .map_or(LogLevel::Info, |v| v.value);
    let format = section
        .as_ref()
        .and_then(|s| s.choice::<LogFormat>(ctx, "format"))
        .map_or(LogFormat::Text, |v| v.value);
    Logging { level, format }
}

/// A required sub-table of an account, reported at the account's header when absent.
fn required_table<'a, 'i>(
    ctx: &mut Ctx<'_>,
    account: &Section<'a, 'i>,
    key: &str,
    known: &[&str],
) -> Option<Section<'a, 'i>> {
    if account.raw(key).is_none() {
        let message = format!("missing table [account.{key}]");
        ctx.report(&account.span.clone(), &account.key_path(key), message);
        return None;
    }
    account.table(ctx, key, known)
}

fn build_account(ctx: &mut Ctx<'_>, section: &Section<'_, '_>) -> Option<Account> {
    let name = section.required_string(ctx, "name", "a short id such as \"jane\"");
    if let Some(name) = &name
        && let Err(message) = check_account_name(&name.value)
    {
        ctx.report_at(name, message);
    }
    let owner_name = section.required_string(ctx, "owner_name", "the name used in emails");
    if let Some(owner) = &owner_name
        && owner.value.trim().is_empty()
    {
        ctx.report_at(owner, "the owner's name is empty");
    }
    let owner_addresses = build_owner_addresses(ctx, section);
    let internal_domains = section
        .string_list(ctx, "internal_domains")
        .map(|list| checked_list(ctx, list.value, check_domain))
        .unwrap_or_default();
    let timezone = build_timezone(ctx, section);
    let mode_val = section.choice::<Mode>(ctx, "mode");
    let mode = mode_val.as_ref().map_or(Mode::Drafts, |m| m.value);
    let signature = section.string(ctx, "signature").map(|s| s.value);

    let imap_section = required_table(ctx, section, "imap", keys::IMAP);
    let imap = imap_section
        .as_ref()
        .and_then(|s| build_server(ctx, s, ServerKind::Imap, None));
    let smtp_section = required_table(ctx, section, "smtp", keys::SMTP);
    let imap_username = imap.as_ref().map_or("", |i| i.username.as_str());
    let smtp = smtp_section.as_ref().and_then(|s| {
        let server = build_server(ctx, s, ServerKind::Smtp, Some(imap_username))?;
        let server_saves_sent = s.boolean(ctx, "server_saves_sent", false);
        Some(Smtp {
            server,
            server_saves_sent,
        })
    });

    let folders = build_folders(ctx, section);
    let scope = build_scope(ctx, section);
    if let Some(mode) = &mode_val
        && mode.value == Mode::Auto
        && !scope.mode_explicit
    {
        ctx.report_at(
            mode,
            "mode = \"auto\" needs an explicit [account.scope] mode (folders, explicit or all): \
             state who may receive automated mail",
        );
    }
    let policy = build_policy(ctx, section);
    let schedule = build_schedule(ctx, section);
    let first_owner = owner_addresses.first().cloned().unwrap_or_default();
    let digest = build_digest(ctx, section, &first_owner);

    let (timezone, timezone_name) = timezone?;
    let owner_name = owner_name?.value;
    Some(Account {
        name: name?.value,
        signature: signature.unwrap_or_else(|| owner_name.clone()),
        owner_name,
        owner_addresses,
        internal_domains,
        timezone,
        timezone_name,
        mode,
        imap: imap?,
        smtp: smtp?,
        folders,
        scope,
        policy,
        schedule,
        digest,
    })
}

fn build_owner_addresses(ctx: &mut Ctx<'_>, section: &Section<'_, '_>) -> Vec<String> {
    let hint = "the owner's addresses, aliases included";
    if section.raw("owner_addresses").is_none() {
        section.missing(ctx, "owner_addresses", hint);
        return Vec::new();
    }
    let Some(list) = section.string_list(ctx, "owner_addresses") else {
        return Vec::new();
    };
    if list.value.is_empty() {
        ctx.report_at(&list, "needs at least one address");
    }
    checked_list(ctx, list.value, check_address)
}

/// Runs `check` over each element, reporting failures at the element and keeping the rest.
pub(super) fn checked_list(
    ctx: &mut Ctx<'_>,
    items: Vec<Val<String>>,
    check: fn(&str) -> Result<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        match check(&item.value) {
            Ok(value) => out.push(value),
            Err(message) => ctx.report_at(&item, message),
        }
    }
    out
}

fn build_timezone(
    ctx: &mut Ctx<'_>,
    section: &Section<'_, '_>,
) -> Option<(jiff::tz::TimeZone, String)> {
    let hint = "an IANA zone such as \"Europe/Berlin\"";
    let name = section.required_string(ctx, "timezone", hint)?;
    match jiff::tz::TimeZone::get(&name.value) {
        Ok(zone) => {
            let canonical = zone.iana_name().unwrap_or(&name.value).to_owned();
            Some((zone, canonical))
        }
        Err(_) => {
            let message = format!("unknown time zone {:?}: use {hint}", name.value);
            ctx.report_at(&name, message);
            None
        }
    }
}
