//! The owner's decisions from the command line: close, pause, resume, forget, and the outbox.
//! Each is one short transaction, so they work beside the running daemon (SPEC §8), which
//! notices the change within seconds.

use std::process::ExitCode;

use serde_json::json;

use super::commands::{account_row, failed, open_store, pick_account};
use crate::clock::Clock;
use crate::config::{Config, DigestSchedule};
use crate::policy::Outcome;
use crate::report::{count, facts};
use crate::store::mailbox;
use crate::store::outbox::{self, CandidateState};

/// The conversation's canonical address and all its addresses, or the address itself when it is
/// not (yet) a known candidate.
fn resolve(
    config: &Config,
    account: &crate::config::Account,
    address: &str,
) -> Result<(String, Vec<String>, bool), ExitCode> {
    // As strict as `candidate add`: found in review, `pause "Ann Lee <ann@x.example>"` said the
    // candidate was paused (and `forget` that they were forgotten) while it matched nobody.
    let address = match crate::config::values::check_address(address.trim()) {
        Ok(address) => address,
        Err(why) => {
            eprintln!("candor: {why}");
            return Err(ExitCode::from(2));
        }
    };
    let store = open_store(config)?;
    let facts = facts::load(&store, account).map_err(|e| failed("candidate", e))?;
    Ok(match facts.find(&address) {
        Some(i) => {
            let c = &facts.conversations[i];
            (c.address.clone(), c.addresses.clone(), true)
        }
        None => (address.clone(), vec![address], false),
    })
}

/// The account a candidate command acts on and the candidate it names.
type Target<'a> = (&'a crate::config::Account, (String, Vec<String>, bool));

fn target<'a>(
    config: &'a Config,
    address: &str,
    account: Option<&str>,
) -> Result<Target<'a>, ExitCode> {
    let account = pick_account(config, account)?;
    Ok((account, resolve(config, account, address)?))
}

fn update_state(
    config: &Config,
    account_name: &str,
    candidate: &str,
    now: jiff::Timestamp,
    cancel_queued: Option<&'static str>,
    change: impl FnOnce(&mut CandidateState) + Send + 'static,
) -> Result<usize, ExitCode> {
    let store = open_store(config)?;
    let (name, candidate) = (account_name.to_owned(), candidate.to_owned());
    store
        .call_blocking(move |tx| {
            let id = account_row(tx, &name, now)?;
            let mut state = outbox::candidate_states(tx, id)?
                .remove(&candidate)
                .unwrap_or_default();
            change(&mut state);
            outbox::set_candidate_state(tx, id, &candidate, &state, now.as_second())?;
            match cancel_queued {
                Some(why) => outbox::cancel_queued_for(tx, id, &candidate, why, now.as_second()),
                None => Ok(0),
            }
        })
        .map_err(|e| failed("candidate", e))
}

/// `candor candidate close ADDRESS --outcome OUTCOME`.
pub fn close(
    config: &Config,
    address: &str,
    outcome: &str,
    account: Option<&str>,
    clock: Clock,
) -> ExitCode {
    let Some(outcome) = Outcome::parse(outcome) else {
        eprintln!(
            "candor: --outcome must be one of position_filled, not_selected, no_current_role, withdrawn"
        );
        return ExitCode::from(2);
    };
    let (account, (candidate, _, known)) = match target(config, address, account) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if !known {
        eprintln!(
            "candor: {address} is not a candidate of account {} (see `candor candidates`)",
            account.name
        );
        return ExitCode::from(1);
    }
    let now = clock.now();
    if let Err(code) = update_state(config, &account.name, &candidate, now, None, move |s| {
        s.decided = Some(outcome.as_str().to_owned());
        s.decided_at = Some(now.as_second());
    }) {
        return code;
    }
    let window = account.policy.cancel_window_hours;
    let digest = if account.digest.schedule != DigestSchedule::Off && window > 0 {
        " and after the next digest has listed it"
    } else {
        ""
    };
    println!(
        "{candidate}: closed as {}; the closure email ({}) goes out after the {window} h cancel window{digest}, in {} mode",
        outcome.as_str(),
        outcome.closure_kind().as_str(),
        account.mode.as_str()
    );
    println!("to cancel it: candor candidate resume {candidate}");
    ExitCode::SUCCESS
}

/// `candor candidate pause ADDRESS [--until DATE]`.
pub fn pause(
    config: &Config,
    address: &str,
    until: Option<&str>,
    account: Option<&str>,
    clock: Clock,
) -> ExitCode {
    // A date alone: a date-time's time would be dropped without a word.
    let until = match until.map(crate::config::values::parse_date) {
        None => None,
        Some(Ok(date)) => Some(date),
        Some(Err(_)) => {
            eprintln!("candor: --until takes a date like 2026-12-31");
            return ExitCode::from(2);
        }
    };
    let (account, (candidate, _, _)) = match target(config, address, account) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let now = clock.now();
    // A pause until DATE ends when work starts on DATE (or the next business day): one that
    // would end already pauses nothing while saying it did (found in review).
    if let Some(date) = until {
        let calendar = crate::report::facts::calendar(account);
        let end = date.yesterday().map_or(jiff::Timestamp::MIN, |eve| {
            calendar.next_business_day_start(eve)
        });
        if end <= now {
            eprintln!(
                "candor: --until {date}: that pause would already be over (it ends when work \
                 starts on that day, {end} in the time zone of account {}): give a later date",
                account.name
            );
            return ExitCode::from(2);
        }
    }
    let cancelled = match update_state(
        config,
        &account.name,
        &candidate,
        now,
        Some("paused by the owner"),
        move |s| {
            s.paused = true;
            s.paused_until = until.map(|d| d.to_string());
            s.paused_at = Some(now.as_second());
        },
    ) {
        Ok(n) => n,
        Err(code) => return code,
    };
    match until {
        Some(date) => {
            println!("{candidate}: paused until {date}; nothing automated goes out before then")
        }
        None => println!("{candidate}: paused until `candor candidate resume {candidate}`"),
    }
    if cancelled > 0 {
        println!(
            "{} cancelled",
            count(cancelled, "queued email", "queued emails")
        );
    }
    ExitCode::SUCCESS
}

/// `candor candidate resume ADDRESS`: lifts a pause, hold, bounce or opt-out, and cancels a
/// pending closure.
pub fn resume(config: &Config, address: &str, account: Option<&str>, clock: Clock) -> ExitCode {
    let (account, (candidate, _, _)) = match target(config, address, account) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let now = clock.now();
    let cancelled = match update_state(
        config,
        &account.name,
        &candidate,
        now,
        Some("resumed by the owner"),
        move |s| {
            s.paused = false;
            s.paused_until = None;
            s.resumed_at = Some(now.as_second());
        },
    ) {
        Ok(n) => n,
        Err(code) => return code,
    };
    println!("{candidate}: resumed; pauses, holds and pending closures before now no longer apply");
    if cancelled > 0 {
        println!(
            "{} cancelled",
            count(cancelled, "queued email", "queued emails")
        );
    }
    ExitCode::SUCCESS
}

/// `candor candidate forget ADDRESS`: erases everything stored about a person.
pub fn forget(config: &Config, address: &str, account: Option<&str>, clock: Clock) -> ExitCode {
    let (account, (candidate, addresses, _)) = match target(config, address, account) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = clock.now();
    let name = account.name.clone();
    let all = addresses.clone();
    match store.call_blocking(move |tx| {
        let id = account_row(tx, &name, now)?;
        let erased = outbox::forget(tx, id, &all, now.as_second())?;
        // Keep them out of automated mail even if their mail is read again (a rescan), without
        // keeping the address: only its hash.
        for address in &all {
            let key = format!(
                "{}{}",
                facts::FORGOTTEN_PREFIX,
                facts::forgotten_hash(address)
            );
            mailbox::set_mark(
                tx,
                id,
                &key,
                mailbox::Mark {
                    added: false,
                    excluded: true,
                },
                now,
            )?;
        }
        Ok(erased)
    }) {
        Ok(erased) => {
            println!(
                "{candidate}: forgotten ({}, {} erased from candor's store; the mailbox itself is untouched)",
                count(addresses.len(), "address", "addresses"),
                count(erased, "message", "messages")
            );
            println!(
                "only a hash of the address is kept, so that candor never writes to it even if its mail is read again"
            );
            ExitCode::SUCCESS
        }
        Err(err) => failed("candidate forget", err),
    }
}

/// `candor outbox list [--json]`.
pub fn outbox_list(config: &Config, as_json: bool) -> ExitCode {
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rows = match store.call_blocking(|tx| outbox::rows(tx, None)) {
        Ok(rows) => rows,
        Err(err) => return failed("outbox list", err),
    };
    let ts = crate::report::time_text;
    if as_json {
        let out: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "account": r.account,
                    "candidate": r.candidate,
                    "recipient": r.recipient,
                    "kind": r.kind,
                    "state": r.state,
                    "due": ts(r.due),
                    "attempts": r.attempts,
                    "message_id": r.message_id,
                    "last_error": r.last_error,
                    "copied": r.copied,
                    "created_at": ts(r.created_at),
                    "done_at": r.done_at.map(ts),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        println!("the outbox is empty");
        return ExitCode::SUCCESS;
    }
    for line in outbox_table(&rows) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}

/// `outbox list` as text: a header, then one line per email, with when it was done (else when it
/// is due, said so), and the address it goes to where that is not the candidate's (found in
/// review: no header, and a bare time that was the due time for some rows and the time done for
/// others).
fn outbox_table(rows: &[outbox::OutboxRow]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:>5}  {:<10} {:<24} {:<34} {:<9} {:>5}  WHEN",
        "ID", "ACCOUNT", "KIND", "CANDIDATE", "STATE", "TRIES"
    )];
    for r in rows {
        let when = crate::report::outbox_when(r);
        let mut line = format!(
            "{:>5}  {:<10} {:<24} {:<34} {:<9} {:>5}  {when}",
            r.id, r.account, r.kind, r.candidate, r.state, r.attempts
        );
        if r.recipient != r.candidate && !r.recipient.is_empty() {
            line.push_str(&format!("  to {}", r.recipient));
        }
        if !r.last_error.is_empty() {
            line.push_str(&format!("  ({})", r.last_error));
        }
        lines.push(line);
    }
    lines
}

/// `candor outbox cancel ID`: only a queued email can be cancelled.
pub fn outbox_cancel(config: &Config, id: i64, clock: Clock) -> ExitCode {
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = clock.now().as_second();
    match store.call_blocking(move |tx| outbox::cancel(tx, id, "cancelled by the owner", now)) {
        Ok(Some(state)) if state == "cancelled" => {
            println!("outbox {id}: cancelled");
            ExitCode::SUCCESS
        }
        Ok(Some(state)) => {
            eprintln!("candor: outbox {id} is {state}: only a queued email can be cancelled");
            ExitCode::from(1)
        }
        Ok(None) => {
            eprintln!("candor: there is no outbox row {id} (see `candor outbox list`)");
            ExitCode::from(1)
        }
        Err(err) => failed("outbox cancel", err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, state: &str, done_at: Option<i64>, recipient: &str) -> outbox::OutboxRow {
        outbox::OutboxRow {
            id,
            account: "jane".to_owned(),
            candidate: "ann@c.example".to_owned(),
            recipient: recipient.to_owned(),
            kind: "follow_up_1".to_owned(),
            state: state.to_owned(),
            message_id: format!("{id}@candor"),
            reply_to: None,
            due: 1_764_309_600, // 2025-11-28T06:00:00Z
            attempts: 0,
            next_try_at: None,
            last_error: String::new(),
            copied: false,
            created_at: 1_764_309_600,
            done_at,
            channel: None,
        }
    }

    #[test]
    fn the_outbox_table_has_a_header_and_says_which_time_it_shows() {
        let lines = outbox_table(&[
            row(1, "queued", None, "ann@c.example"),
            row(2, "sent", Some(1_764_313_200), "ann.private@home.example"),
        ]);
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].trim_start().starts_with("ID  ACCOUNT"),
            "{lines:#?}"
        );
        assert!(lines[0].ends_with("WHEN"), "{lines:#?}");
        // Only a queued email is due: one of unknown outcome is never sent again, and one that
        // met a temporary error is due at its next try.
        let unknown = outbox_table(&[row(3, "unknown", None, "ann@c.example")]);
        assert!(
            unknown[1].ends_with("was due 2025-11-28T06:00:00Z"),
            "{unknown:#?}"
        );
        let retry = outbox::OutboxRow {
            next_try_at: Some(1_764_310_200),
            ..row(4, "queued", None, "ann@c.example")
        };
        let retry = outbox_table(&[retry]);
        assert!(retry[1].ends_with("due 2025-11-28T06:10:00Z"), "{retry:#?}");
        assert!(lines[1].ends_with("due 2025-11-28T06:00:00Z"), "{lines:#?}");
        assert!(
            lines[2].ends_with("2025-11-28T07:00:00Z  to ann.private@home.example"),
            "{lines:#?}"
        );
        let when = |l: &str| l.find("WHEN").or_else(|| l.find("due ")).unwrap();
        assert_eq!(when(&lines[0]), when(&lines[1]), "the columns line up");
    }
}
