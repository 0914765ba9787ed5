//! A demo mailbox written by us: a recruiter, a colleague and a dozen candidates.

/// The recruiter whose mailbox this is.
pub const RECRUITER: &str = "jane@agency.example";
/// Other demo users who get an inbox.
pub const OTHER_USERS: &[&str] = &["tom@agency.example"];

pub fn demo_mailbox(_today: jiff::civil::Date) -> Vec<(String, super::SeedMessage)> {
    Vec::new()
}
