//! The policy of SPEC §6 and the safety gates of SPEC §7 as a pure state machine:
//! `(conversation facts, config, now) -> (state, next email, why it is held, next deadline)`.
//!
//! No I/O and no clock: the caller (the policy loop, `candor plan`) assembles [`Facts`] from the
//! store, calls [`decide`], and runs it again at [`Decision::next_deadline`] or when a fact
//! changes. Right before sending, the caller re-syncs and calls [`gates`] on the planned email.
//!
//! What the caller does with a [`Decision`]:
//! - `planned` is `Some` and `planned.due <= now` and `held` is `None`: create the outbox row for
//!   `planned` (kind, `reply_to`), then, right before the send, call [`gates`] again after a
//!   fresh sync of Inbox and Sent. What "send" means depends on [`Mode`]: `auto` sends by SMTP
//!   (row `sent`), `drafts` APPENDs a ready draft to Drafts (row `drafted`, the owner sends it),
//!   `dry-run` only records the row (`recorded`) and reports it; nothing leaves the machine.
//! - `held` is `Some`: report it (`plan --json` `held`, gate names as in SPEC §11) and do
//!   nothing; `held.retry_at`, when set, says when the hold may lift by itself.
//! - `planned.due > now`: nothing yet; the digest lists it as coming.
//!
//! How drafts show in the facts (SPEC §7.6): a follow-up appended to Drafts is an outbox row in
//! state `drafted`. The owner may send it as is or rewritten, often without our headers, so it
//! comes back from Sent as an ordinary human message of the owner after the row's creation.
//! The policy counts the `drafted` row as the follow-up (towards `max_follow_ups` and spacing)
//! and treats that owner message as the one the next email follows up: it is never counted a
//! second time, and it does not restart the count. A draft with no owner message after it is
//! pending: it still counts, and the next automated email of the conversation is held (gate
//! `mode`) until the owner sends it or resumes the candidate, so two nudges never pile up.
//!
//! State precedence, strongest first: `opted_out`, `bounced` (both final until a `resumed_at`
//! after the event), `held` for an `unknown` send or a `failed` one (until a resume or a human
//! message of the candidate after it), then the latest of the owner's own actions
//! (decision → `closed` with a closure pending; pause → `paused`; hold folder → `held`; resume →
//! none), then `held` for an ambiguous opt-out, `closed` after a sent closure with no human
//! message since, then the open wait (`awaiting_candidate` / `awaiting_recruiter`), where an
//! out-of-office reply may make it `paused` or `held`.

mod assess;
mod gates;
pub mod phrases;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::latency::Side;
use crate::mail::Class;

pub use gates::{gates, unsent_draft};

/// Fewest business days between two follow-ups of one conversation (SPEC §6).
pub const FOLLOW_UP_SPACING_DAYS: u32 = 5;
/// No two automated emails to one recipient within this many seconds (SPEC §7.4: 3 days).
pub const RECIPIENT_SPACING_S: i64 = 3 * 86_400;
/// Automated emails of one account go out at least this many seconds apart, plus a jitter of up
/// to [`ACCOUNT_SPACING_JITTER_S`] (SPEC §7.5 "spaced with jitter"): a burst of similar emails
/// at the opening of the send window reads as bulk mail to the providers.
pub const ACCOUNT_SPACING_S: i64 = 30;
pub const ACCOUNT_SPACING_JITTER_S: i64 = 60;
/// An out-of-office reply without a return date pauses for this many days (SPEC §6).
pub const OOO_DEFAULT_DAYS: i64 = 14;
/// A return date further away than this many days holds the conversation (SPEC §6).
pub const OOO_HOLD_AFTER_DAYS: i64 = 30;

/// What the account's mode lets the caller do with a due email (SPEC §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send by SMTP.
    Auto,
    /// APPEND a ready draft to Drafts; the owner sends it.
    Drafts,
    /// Only record and report; nothing is sent or appended.
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Drafts => "drafts",
            Mode::DryRun => "dry-run",
        }
    }
}

/// The policy settings of one account (`[account.policy]`, `[account.schedule]`, mode, digest),
/// mapped from the real config by the caller. Business days, work hours and holidays come in a
/// [`BusinessCalendar`](crate::calendar::BusinessCalendar).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub act_on_existing: bool,
    pub follow_up_after_days: u32,
    /// Capped at 2: there are only the kinds `follow_up_1` and `follow_up_2` (SPEC §8).
    pub max_follow_ups: u32,
    pub closure_after_days: u32,
    pub cancel_window_hours: u32,
    pub recruiter_sla_days: u32,
    /// Added to the built-in closing phrases (any language; matched case-insensitively).
    pub closing_phrases: Vec<String>,
    /// Added to the built-in clear opt-out phrases.
    pub opt_out_phrases: Vec<String>,
    /// `send_hours` as minutes after local midnight; the end may be 1440.
    pub send_start_minute: u16,
    pub send_end_minute: u16,
    pub daily_cap: u32,
    pub mode: Mode,
    /// Digests are on (`[account.digest] schedule` is not `off`).
    pub digest_on: bool,
    /// The account's emails go out at least this many seconds apart, plus a jitter of up to
    /// `send_jitter_s` (gate 5): [`ACCOUNT_SPACING_S`] and [`ACCOUNT_SPACING_JITTER_S`].
    pub send_spacing_s: i64,
    pub send_jitter_s: i64,
}

impl PolicyConfig {
    /// The defaults of SPEC §6 and §13: drafts mode, 09:00-17:00, digests on.
    pub fn defaults() -> PolicyConfig {
        PolicyConfig {
            act_on_existing: false,
            follow_up_after_days: 5,
            max_follow_ups: 2,
            closure_after_days: 7,
            cancel_window_hours: 24,
            recruiter_sla_days: 2,
            closing_phrases: Vec::new(),
            opt_out_phrases: Vec::new(),
            send_start_minute: 9 * 60,
            send_end_minute: 17 * 60,
            daily_cap: 50,
            mode: Mode::Drafts,
            digest_on: true,
            send_spacing_s: ACCOUNT_SPACING_S,
            send_jitter_s: ACCOUNT_SPACING_JITTER_S,
        }
    }
}

/// One message of the conversation, as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FactMessage {
    /// The store's message key.
    pub key: i64,
    /// Message time (SPEC §2).
    pub time: Timestamp,
    /// Owner (any owner address), Candidate (any of the candidate's addresses), Other.
    pub side: Side,
    pub class: Class,
    /// The new, unquoted text (`mail::new_text`), as much as ingest kept.
    pub new_text: String,
    pub subject: String,
    /// For an auto-reply: the return date ingest found (`mail::ooo_return_date`).
    pub ooo_until: Option<Date>,
    /// For a bounce: a hard (5.x.x) one.
    pub hard_bounce: bool,
    /// The message's thread is a list or bulk thread (it holds a `list` message).
    pub list_thread: bool,
    /// For class `own`: the kind named by its `X-Candor` header.
    pub own_kind: Option<Kind>,
    /// The store's thread id.
    pub thread: i64,
    /// For the owner's message: the candidate is only in its Cc, not in its To.
    pub cc_only: bool,
}

/// The states of an outbox row (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Queued,
    Sending,
    Sent,
    Unknown,
    Failed,
    Cancelled,
    Drafted,
    Recorded,
}

impl OutboxState {
    pub const ALL: [OutboxState; 8] = [
        OutboxState::Queued,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Unknown,
        OutboxState::Failed,
        OutboxState::Cancelled,
        OutboxState::Drafted,
        OutboxState::Recorded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Unknown => "unknown",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
            OutboxState::Drafted => "drafted",
            OutboxState::Recorded => "recorded",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
    }

    /// The email may have reached the candidate (or the owner's Drafts, or the dry-run record):
    /// it counts towards caps and spacing. `sending` and `unknown` count because they may have.
    pub fn counts_as_sent(self) -> bool {
        matches!(
            self,
            OutboxState::Sending
                | OutboxState::Sent
                | OutboxState::Unknown
                | OutboxState::Drafted
                | OutboxState::Recorded
        )
    }

    /// Sent or about to be: the policy plans the email after it, never this one again.
    pub fn is_taken(self) -> bool {
        self == OutboxState::Queued || self.counts_as_sent()
    }
}

/// One outbox row of this conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRecord {
    pub kind: Kind,
    pub state: OutboxState,
    pub created_at: Timestamp,
    /// When SMTP accepted it (state `sent`).
    pub sent_at: Option<Timestamp>,
    /// The key of the message it answered (`In-Reply-To`).
    pub reply_to: i64,
}

impl SentRecord {
    /// When it went out, as far as the row knows.
    pub fn time(&self) -> Timestamp {
        self.sent_at.unwrap_or(self.created_at)
    }
}

/// The outcomes the owner can decide (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    PositionFilled,
    NotSelected,
    NoCurrentRole,
    Withdrawn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::PositionFilled => "position_filled",
            Outcome::NotSelected => "not_selected",
            Outcome::NoCurrentRole => "no_current_role",
            Outcome::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::PositionFilled,
            Outcome::NotSelected,
            Outcome::NoCurrentRole,
            Outcome::Withdrawn,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// The closure email for this outcome.
    pub fn closure_kind(self) -> Kind {
        match self {
            Outcome::PositionFilled => Kind::ClosurePositionFilled,
            Outcome::NotSelected => Kind::ClosureNotSelected,
            Outcome::NoCurrentRole => Kind::ClosureNoCurrentRole,
            Outcome::Withdrawn => Kind::ClosureWithdrawn,
        }
    }
}

/// What the owner did about this candidate (commands and folders), each with its time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnerDecisions {
    /// `candidate pause --until DATE`: paused until work starts on that local date.
    pub paused_until: Option<Date>,
    /// `candidate pause` without a date.
    pub paused_indefinitely: bool,
    /// When the pause was set (to order it against decisions and resumes).
    pub paused_at: Option<Timestamp>,
    /// The latest `candidate resume`: lifts pauses, holds, opt-outs and bounces before it, and
    /// cancels a decision before it.
    pub resumed_at: Option<Timestamp>,
    /// `candidate close --outcome`.
    pub decided: Option<(Outcome, Timestamp)>,
    /// A message of the candidate moved or copied into the hold folder (first seen then).
    pub hold_folder_at: Option<Timestamp>,
    /// A message of the candidate found in an outcome folder (first seen then).
    pub outcome_folder: Option<(Outcome, Timestamp)>,
    /// `candidate exclude`.
    pub excluded_by_owner: bool,
}

/// Everything the policy knows about one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The candidate's primary address.
    pub candidate: String,
    /// Scope as computed by the caller (SPEC §4).
    pub in_scope: bool,
    /// `scope.exclude` or an internal domain.
    pub excluded: bool,
    /// The address is a role address, or there is none.
    pub role_or_null: bool,
    /// Every message of the conversation, any order.
    pub messages: Vec<FactMessage>,
    /// candor's outbox rows for this conversation, any state.
    pub automated: Vec<SentRecord>,
    pub owner: OwnerDecisions,
    /// The account's first completed sync: the activation horizon.
    pub first_sync_at: Option<Timestamp>,
    /// When the last digest was sent.
    pub last_digest_at: Option<Timestamp>,
    /// The latest automated email to this address in any conversation (gate 4).
    pub recipient_last_automated_at: Option<Timestamp>,
    /// Automated emails the account sent today, local time (gate 5).
    pub account_sent_today: u32,
    /// The account's latest automated email that went out by SMTP, or may have (`sending`,
    /// `unknown`), in any conversation (gate 5: spaced with jitter).
    pub account_last_sent_at: Option<Timestamp>,
}

/// The state of a conversation (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    AwaitingCandidate,
    AwaitingRecruiter,
    Paused,
    Held,
    Closed,
    Bounced,
    OptedOut,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::AwaitingCandidate => "awaiting_candidate",
            State::AwaitingRecruiter => "awaiting_recruiter",
            State::Paused => "paused",
            State::Held => "held",
            State::Closed => "closed",
            State::Bounced => "bounced",
            State::OptedOut => "opted_out",
        }
    }
}

/// The kinds of automated email (SPEC §8), the digest aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FollowUp1,
    FollowUp2,
    ClosureSilence,
    ClosurePositionFilled,
    ClosureNotSelected,
    ClosureNoCurrentRole,
    ClosureWithdrawn,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::FollowUp1,
        Kind::FollowUp2,
        Kind::ClosureSilence,
        Kind::ClosurePositionFilled,
        Kind::ClosureNotSelected,
        Kind::ClosureNoCurrentRole,
        Kind::ClosureWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FollowUp1 => "follow_up_1",
            Kind::FollowUp2 => "follow_up_2",
            Kind::ClosureSilence => "closure_silence",
            Kind::ClosurePositionFilled => "closure_position_filled",
            Kind::ClosureNotSelected => "closure_not_selected",
            Kind::ClosureNoCurrentRole => "closure_no_current_role",
            Kind::ClosureWithdrawn => "closure_withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_follow_up(self) -> bool {
        matches!(self, Kind::FollowUp1 | Kind::FollowUp2)
    }

    pub fn is_closure(self) -> bool {
        !self.is_follow_up()
    }

    /// A closure the owner decided (as opposed to one after silence): gates 2 and 3 do not apply.
    pub fn is_decided_closure(self) -> bool {
        self.is_closure() && self != Kind::ClosureSilence
    }
}

/// The next automated email of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub kind: Kind,
    /// The earliest instant it may go, already moved into the send window; may be in the past
    /// when it is held.
    pub due: Timestamp,
    /// The key of the message answered: the owner's message for follow-ups and the closure after
    /// silence, for a decided closure the conversation's latest human message the candidate was
    /// party to (theirs, or the owner's to them).
    pub reply_to: i64,
    /// Why, for `plan` and the digest.
    pub reason: String,
}

/// The safety gates of SPEC §7, in order (names as in `plan --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Scope,
    State,
    Replied,
    List,
    Spacing,
    Window,
    Cap,
    Mode,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Scope => "scope",
            Gate::State => "state",
            Gate::Replied => "replied",
            Gate::List => "list",
            Gate::Spacing => "spacing",
            Gate::Window => "window",
            Gate::Cap => "cap",
            Gate::Mode => "mode",
        }
    }
}

/// Why a due email is not sent now.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldBack {
    pub gate: Gate,
    pub detail: String,
    /// When the hold may lift by itself (window opens, spacing ends, a new day for the cap);
    /// `None` when only a new fact (the owner, a reply) can lift it.
    pub retry_at: Option<Timestamp>,
}

/// The policy's verdict on one conversation at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub state: State,
    /// When the open wait began (the first unanswered message of the run).
    pub waiting_since: Option<Timestamp>,
    /// Awaiting the owner for more than `recruiter_sla_days` business days.
    pub overdue: bool,
    /// For `closed`: the closure that closed it or will close it.
    pub closure: Option<Kind>,
    /// The next email, with its due time (which may be in the future).
    pub planned: Option<Planned>,
    /// Why the due email is held back now.
    pub held: Option<HeldBack>,
    /// When `decide` should run again at the latest (new facts aside).
    pub next_deadline: Option<Timestamp>,
    /// Things to report: "opted out", "hard bounce", "ambiguous opt-out: held", ...
    pub notes: Vec<String>,
}

/// The policy for one conversation at `now` (SPEC §6), with the gates of SPEC §7 applied to an
/// email that is due.
pub fn decide(
    facts: &Facts,
    config: &PolicyConfig,
    calendar: &crate::calendar::BusinessCalendar,
    now: Timestamp,
) -> Decision {
    let assessment = assess::assess(facts, config, calendar, now);
    let mut deadlines = assessment.deadlines.clone();
    let mut held = None;
    if let Some(planned) = &assessment.planned {
        if planned.due > now {
            deadlines.push(planned.due);
        } else if held.is_none() {
            held = gates::check(facts, config, calendar, planned, now, &assessment).err();
        }
    }
    if let Some(retry) = held.as_ref().and_then(|h| h.retry_at) {
        deadlines.push(retry);
    }
    let next_deadline = deadlines
        .into_iter()
        .filter(|t| *t > now && *t < Timestamp::MAX)
        .min();
    Decision {
        state: assessment.state,
        waiting_since: assessment.waiting_since,
        overdue: assessment.overdue,
        closure: assessment.closure,
        planned: assessment.planned,
        held,
        next_deadline,
        notes: assessment.notes,
    }
}
