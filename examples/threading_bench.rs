//! Prints how long the threader takes: 100k messages cold, then one more message.
//!
//! `cargo run --release --example threading_bench`. Synthetic input: 20k conversations of five
//! messages each, every reply citing its whole ancestry (References) and its parent; every tenth
//! reply header-less (subject rule).

use std::time::Instant;

use candor::threading::{ThreadInput, Threader};
use jiff::Timestamp;

fn message(key: i64) -> ThreadInput {
    let conversation = key / 5;
    let position = key % 5;
    let id = |p: i64| format!("<{conversation}.{p}@bench.example>");
    let headerless = position > 0 && key % 10 == 3;
    let references: Vec<String> = if headerless {
        Vec::new()
    } else {
        (0..position).map(id).collect()
    };
    ThreadInput {
        key,
        message_id: Some(id(position)),
        extra_message_ids: Vec::new(),
        in_reply_to: references.last().cloned().into_iter().collect(),
        references,
        time: Timestamp::from_second(1_700_000_000 + key * 60).expect("bench time in range"),
        correspondents: vec![format!("candidate{}@example.org", conversation % 5000)],
        subject: Some(if position == 0 {
            format!("Role {conversation}")
        } else {
            format!("Re: Role {conversation}")
        }),
    }
}

fn main() {
    let n = 100_000;
    let inputs: Vec<ThreadInput> = (0..n).map(message).collect();
    let start = Instant::now();
    let mut threader = Threader::new();
    for input in &inputs {
        threader.add(input);
    }
    let cold = start.elapsed();
    let extra = message(n);
    let start = Instant::now();
    let assignment = threader.add(&extra);
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
