//! Prints how long the threader takes: 100k messages cold, then one more message.
//!
//! `cargo run --release --example threading_bench`. Synthetic input: 20k conversations of five
//! messages each, every reply citing its whole ancestry (References) and its parent; every tenth
//! reply header-less (subject rule).

use std::time::Instant;

use candor::threading::{ThreadInput, Threader};
use jiff::Timestamp;

/// One message's fields, owned; the threader borrows them.
struct Message {
    key: i64,
    message_id: String,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    time: Timestamp,
    correspondent: String,
    subject: String,
}

impl Message {
    fn input(&self) -> ThreadInput<'_> {
        ThreadInput {
            key: self.key,
            message_id: Some(&self.message_id),
            extra_message_ids: &[],
            in_reply_to: &self.in_reply_to,
            references: &self.references,
            time: self.time,
            correspondents: vec![self.correspondent.clone()],
            subject: Some(&self.subject),
        }
    }
}

fn message(key: i64) -> Message {
    let conversation = key / 5;
    let position = key % 5;
    let id = |p: i64| format!("<{conversation}.{p}@bench.example>");
    let headerless = position > 0 && key % 10 == 3;
    let references: Vec<String> = if headerless {
        Vec::new()
    } else {
        (0..position).map(id).collect()
    };
    Message {
        key,
        message_id: id(position),
        in_reply_to: references.last().cloned().into_iter().collect(),
        references,
        time: Timestamp::from_second(1_700_000_000 + key * 60).expect("bench time in range"),
        correspondent: format!("candidate{}@example.org", conversation % 5000),
        subject: if position == 0 {
            format!("Role {conversation}")
        } else {
            format!("Re: Role {conversation}")
        },
    }
}

fn main() {
    let n = 100_000;
    let messages: Vec<Message> = (0..n).map(message).collect();
    let start = Instant::now();
    let mut threader = Threader::new();
    for message in &messages {
        threader.add(&message.input());
    }
    let cold = start.elapsed();
    let extra = message(n);
    let start = Instant::now();
    let assignment = threader.add(&extra.input());
    let one = start.elapsed();
    println!(
        "threaded {n} messages cold in {cold:?} ({} threads)",
        threader.threads().len()
    );
    println!(
        "one more message in {one:?} (thread {:?})",
        assignment.thread
    );
}
