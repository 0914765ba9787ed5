//! Which folders of an account candor reads: the Inbox, the Sent folder (SPECIAL-USE `\Sent`
//! unless configured), and the configured scope, hold and outcome folders. Never the virtual
//! `\All`, `\Flagged` or `\Important` folders (Gmail), which would duplicate everything.
//!
//! Names are the owner's (UTF-8), as the config and the store hold them; `utf7` translates them
//! at the wire, in every command that names a folder.

use std::collections::BTreeSet;
use std::time::Duration;

use async_imap::types::NameAttribute;
use futures::TryStreamExt as _;
use tokio::time::timeout;

use super::connect::{ImapError, ImapErrorKind, Session};
use crate::config::Account;

const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// The folders to read, each with its role (`inbox`, `sent`, `scope`, `hold`, `outcome:<name>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderPlan {
    pub folders: Vec<(String, String)>,
    /// Configured folders the server does not have (reported, not fatal).
    pub missing: Vec<String>,
    /// The Sent folder could not be found: the owner's replies are invisible until configured.
    pub no_sent: bool,
    /// The Drafts folder, for the outbox (found by SPECIAL-USE unless configured).
    pub drafts: Option<String>,
}

impl FolderPlan {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.folders.iter().map(|(name, _)| name.as_str())
    }
}

struct Listed {
    name: String,
    sent: bool,
    drafts: bool,
    virtual_folder: bool,
    selectable: bool,
}

/// Lists the server's folders and decides which to read.
pub async fn discover_folders(
    session: &mut Session,
    account: &Account,
) -> Result<FolderPlan, ImapError> {
    let listed = list_all(session).await?;
    Ok(plan_folders(&listed, account))
}

/// Which of the listed folders to read, and what is missing.
fn plan_folders(listed: &[Listed], account: &Account) -> FolderPlan {
    let exists = |name: &str| listed.iter().any(|l| l.name == name && l.selectable);

    let mut plan = FolderPlan::default();
    let mut seen = BTreeSet::new();
    let mut add = |plan: &mut FolderPlan, name: &str, role: String| {
        let virtual_folder = listed.iter().any(|l| l.name == name && l.virtual_folder);
        if virtual_folder {
            // Reading an "All Mail" folder would store every message a second time.
            plan.missing
                .push(format!("{name} (a virtual folder, not read)"));
        } else if !exists(name) {
            plan.missing.push(name.to_owned());
        } else if seen.insert(name.to_owned()) {
            plan.folders.push((name.to_owned(), role));
        }
    };

    add(&mut plan, "INBOX", "inbox".to_owned());
    let sent = account.folders.sent.clone().or_else(|| {
        listed
            .iter()
            .find(|l| l.sent && !l.virtual_folder)
            .map(|l| l.name.clone())
    });
    match sent {
        Some(name) => add(&mut plan, &name, "sent".to_owned()),
        None => plan.no_sent = true,
    }
    for name in &account.scope.folders {
        add(&mut plan, name, "scope".to_owned());
    }
    if let Some(hold) = &account.folders.hold {
        add(&mut plan, hold, "hold".to_owned());
    }
    for (outcome, name) in &account.folders.outcomes {
        add(&mut plan, name, format!("outcome:{}", outcome.as_str()));
    }
    plan.drafts = account
        .folders
        .drafts
        .clone()
        .or_else(|| listed.iter().find(|l| l.drafts).map(|l| l.name.clone()));
    plan
}

/// A listed folder's name as candor holds it: as the owner writes it (IMAP writes non-ASCII
/// names in modified UTF-7: Dovecot lists "Geprüft" as `Gepr&APw-ft`; a name that is not valid
/// modified UTF-7 is kept as it came), and the Inbox as `INBOX`, which RFC 3501 §5.1 makes
/// case-insensitive: Yahoo lists it as `Inbox` (found in review: the Inbox was reported missing
/// and never read).
fn listed_name(wire: &str) -> String {
    if wire.eq_ignore_ascii_case("INBOX") {
        return "INBOX".to_owned();
    }
    super::utf7::decode(wire).unwrap_or_else(|| wire.to_owned())
}

async fn list_all(session: &mut Session) -> Result<Vec<Listed>, ImapError> {
    let names: Vec<_> = timeout(LIST_TIMEOUT, async {
        let stream = session
            .list(Some(""), Some("*"))
            .await
            .map_err(|e| ImapError::from_imap("LIST", e))?;
        stream
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| ImapError::from_imap("LIST", e))
    })
    .await
    .map_err(|_| ImapError::timed_out("LIST"))??;
    let listed = names
        .iter()
        .map(|name| {
            let attrs = name.attributes();
            let has = |wanted: &str| {
                attrs.iter().any(|a| match a {
                    NameAttribute::Extension(ext) => ext.eq_ignore_ascii_case(wanted),
                    _ => false,
                })
            };
            Listed {
                name: listed_name(name.name()),
                sent: attrs.iter().any(|a| matches!(a, NameAttribute::Sent)),
                drafts: attrs.iter().any(|a| matches!(a, NameAttribute::Drafts)),
                virtual_folder: attrs
                    .iter()
                    .any(|a| matches!(a, NameAttribute::All | NameAttribute::Flagged))
                    || has("\\Important"),
                selectable: !attrs.iter().any(|a| matches!(a, NameAttribute::NoSelect))
                    && !has("\\NonExistent"),
            }
        })
        .collect::<Vec<_>>();
    if listed.is_empty() {
        return Err(ImapError::new(
            ImapErrorKind::Protocol,
            "LIST",
            "the server listed no folder at all",
        ));
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(wire: &str, sent: bool) -> Listed {
        Listed {
            name: listed_name(wire),
            sent,
            drafts: false,
            virtual_folder: false,
            selectable: true,
        }
    }

    #[test]
    fn the_inbox_is_found_whatever_case_the_server_lists_it_in() {
        let account = crate::config::loopback_account("drafts", 143, 25, "");
        for inbox in ["INBOX", "Inbox", "inbox"] {
            let plan = plan_folders(&[listed(inbox, false), listed("Sent", true)], &account);
            assert_eq!(
                plan.folders,
                [
                    ("INBOX".to_owned(), "inbox".to_owned()),
                    ("Sent".to_owned(), "sent".to_owned())
                ],
                "{inbox}"
            );
            assert!(plan.missing.is_empty(), "{inbox}: {:?}", plan.missing);
        }
        // Only the Inbox's own name is special.
        assert_eq!(listed_name("Inbox/Candidates"), "Inbox/Candidates");
        assert_eq!(listed_name("Gepr&APw-ft"), "Geprüft");
    }
}
