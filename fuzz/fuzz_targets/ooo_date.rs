//! Fuzz target: the out-of-office return-date parser (`mail::ooo_return_date`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the sending day (any day from 1970 to 2149), the rest is the
    // subject and text, split at the first newline, as lossy UTF-8 like the ingest path gives.
    let (day_bytes, rest) = data.split_at(data.len().min(2));
    let mut days = [0u8; 2];
    days[..day_bytes.len()].copy_from_slice(day_bytes);
    let offset = i64::from(u16::from_le_bytes(days));
    let Ok(sent) = jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(offset)) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(back) = candor::mail::ooo_return_date(subject, body, sent) {
        // The documented contract: never before the sending day, never absurdly far ahead.
        assert!(
            back >= sent,
            "return date {back} before the sending day {sent}"
        );
        assert!(
            back <= sent.saturating_add(jiff::Span::new().days(400)),
            "return date {back} too far after {sent}"
        );
    }
});
