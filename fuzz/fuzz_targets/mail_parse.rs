//! Fuzz target: message ingest and classification (`mail::parse`) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    // Whatever the bytes, parse either refuses them or returns a message; never a panic.
    if let Ok(message) = candor::mail::parse(raw) {
        // The promises of `Message` that the store relies on.
        if let Some(id) = &message.message_id {
            assert!(id.len() <= 998, "message id longer than a header line");
        }
        for address in message.to.iter().chain(&message.cc).chain(&message.from) {
            if let Some(name) = &address.name {
                assert!(
                    !name.contains(['\r', '\n']),
                    "display name keeps a line break"
                );
            }
        }
        if let Some(subject) = &message.subject {
            assert!(
                !subject.contains(['\r', '\n']),
                "subject keeps a line break"
            );
        }
        // The ingest path also computes the message time against INTERNALDATE.
        let _ = candor::mail::message_time(message.date, jiff::Timestamp::UNIX_EPOCH);
    }
});
