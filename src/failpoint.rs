//! Named failpoints for crash tests (STYLE.md): with the `failpoints` feature, the process kills
//! itself with SIGKILL when it reaches the point named in `CANDOR_FAILPOINT`, like a power cut or
//! `kill -9` at the worst moment ([`hit`]), or fails one operation there as a failing disk would
//! ([`fails`]). Without the feature they compile to nothing, as does the one test knob here,
//! [`send_spacing_s`].

/// The outbox row (queued, with its final Message-ID) is committed; nothing was sent yet.
pub const AFTER_OUTBOX_COMMIT: &str = "after_outbox_commit";
/// The SMTP server answered the end of DATA; the reply is not recorded yet.
pub const AFTER_DATA_REPLY: &str = "after_data_reply";
/// The send is recorded; the copy is not yet appended to Sent.
pub const BEFORE_APPEND: &str = "before_append";
/// The row is committed `sending`; the commit that confirms it fails (an error, not a kill).
pub const CONFIRM_FAILS: &str = "confirm_fails";

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if std::env::var("CANDOR_FAILPOINT").is_ok_and(|wanted| wanted == name) {
        eprintln!("candor: failpoint {name}: killing the process");
        // SAFETY: kill(2) on our own pid with SIGKILL; the process ends here.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// True when the process is told to fail the operation at `name` (error injection).
#[cfg(feature = "failpoints")]
pub fn fails(name: &str) -> bool {
    std::env::var("CANDOR_FAILPOINT").is_ok_and(|wanted| wanted == name)
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn fails(_name: &str) -> bool {
    false
}

/// Tests that send to many candidates at once set `CANDOR_SEND_SPACING_S` (whole seconds, no
/// jitter) instead of waiting the 30 to 90 s between the account's emails (SPEC §7.5) in real
/// time. Only in test builds: a production candor always spaces its emails.
#[cfg(feature = "failpoints")]
pub fn send_spacing_s() -> Option<i64> {
    std::env::var("CANDOR_SEND_SPACING_S")
        .ok()
        .and_then(|s| s.parse().ok())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn send_spacing_s() -> Option<i64> {
    None
}
