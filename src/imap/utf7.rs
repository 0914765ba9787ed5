//! Folder names as IMAP writes them: modified UTF-7 (RFC 3501 §5.1.3). candor holds names as
//! the owner writes them (the config, the store, reports); LIST answers are decoded and every
//! command that names a folder encodes it.

use base64::Engine as _;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The base64 of modified UTF-7: `,` for `/`, no padding.
const MUTF7: GeneralPurpose = GeneralPurpose::new(
    &IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `name` as a command writes it: printable ASCII but `&` as itself, `&` as `&-`, runs of other
/// characters as `&` + modified base64 of their UTF-16 + `-`.
pub fn encode(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'&') {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() * 2);
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| {
        if !run.is_empty() {
            out.push('&');
            MUTF7.encode_string(&run[..], out);
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                run.extend_from_slice(&unit.to_be_bytes());
            }
        }
    }
    flush(&mut run, &mut out);
    std::borrow::Cow::Owned(out)
}

/// A listed name as the owner reads it; `None` when it is not valid modified UTF-7 (a server
/// that sends raw UTF-8, or garbage), which the caller keeps as it came.
pub fn decode(name: &str) -> Option<String> {
    if !name.contains('&') {
        return name.is_ascii().then(|| name.to_owned());
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('-')?;
        if end == 0 {
            out.push('&');
        } else {
            let bytes = MUTF7.decode(&after[..end]).ok()?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            for c in char::decode_utf16(units) {
                out.push(c.ok()?);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_modified_utf7() {
        for (name, wire) in [
            ("INBOX", "INBOX"),
            ("Candor/Not selected", "Candor/Not selected"),
            ("Geprüft", "Gepr&APw-ft"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("Éléments envoyés", "&AMk-l&AOk-ments envoy&AOk-s"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
        ] {
            assert_eq!(encode(name), wire, "{name}");
            assert_eq!(decode(wire).as_deref(), Some(name), "{wire}");
        }
        assert_eq!(decode("Gepr&APw"), None, "unterminated");
        assert_eq!(decode("Geprüft"), None, "raw UTF-8 is kept as it came");
    }
}
