//! Fuzz target: message ingest and classification (`mail::parse`) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// libFuzzer's panic hook aborts on every panic, even one that is caught. `candor::mail::parse`
/// catches the panics of mail-parser (its debug assertions fire on some hostile structures)
/// and skips the message, so those pass; a panic anywhere else still aborts and is reported.
fn let_mail_parser_panics_be_caught() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_mail_parser = info
            .location()
            .is_some_and(|l| l.file().contains("/mail-parser-"));
        if !in_mail_parser {
            abort(info);
        }
    }));
}

fuzz_target!(init: let_mail_parser_panics_be_caught(), |raw: &[u8]| {
    // Whatever the bytes, parse either refuses them or returns a message; never a panic.
    let parsed = candor::mail::parse(raw);
    // mail-parser may be shown only the parts candor reads: that must change nothing.
    assert_eq!(
        parsed,
        candor::mail::parse_whole(raw),
        "the MIME shortcut changed the message"
    );
    if let Ok(message) = parsed {
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
