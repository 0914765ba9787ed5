//! The transfer decodings of a text part, read exactly as mail-parser reads them.
//!
//! When `shortcut` leaves the content of a message's text part out of what mail-parser is given,
//! candor decodes that content here. mail-parser's decoders (0.11) run byte by byte and stop at
//! the first `--boundary` anywhere, not only at a line start; they drop every CR, trim the
//! white space that ends a line, and recover from some broken sequences in ways of their own.
//! Each function below gives the bytes mail-parser's decoder gives on the same input, or `None`
//! where mail-parser would read the part otherwise (an encoding problem, after which it reads
//! the part as raw bytes, or a delimiter found elsewhere than at the expected place): the caller
//! then hands mail-parser the whole part. The corpus test and the fuzzer compare the result with
//! a parse of the whole message.

use std::borrow::Cow;

/// The transfer encoding of a part, as mail-parser decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    None,
    QuotedPrintable,
    Base64,
}

/// Decodes a text part. `data` is what mail-parser's decoder reads: the part's content, then,
/// for a part of a multipart, the line break and `--boundary` of the delimiter that ends it
/// (`boundary` is empty for a message that is a single part, read to its end).
pub fn part<'a>(encoding: Encoding, data: &'a [u8], boundary: &[u8]) -> Option<Cow<'a, [u8]>> {
    let stop = match boundary {
        [] => None,
        _ => Some(delimiter_at_end(data, boundary)?),
    };
    match encoding {
        Encoding::None => Some(Cow::Borrowed(plain(data, stop))),
        Encoding::QuotedPrintable => quoted_printable(data, stop).map(Cow::Owned),
        Encoding::Base64 => base64(data, stop).map(Cow::Owned),
    }
}

/// Where the delimiter (`--` and `boundary`) at the end of `data` starts, when it is the first
/// `--boundary` in `data`: mail-parser's decoders end the part at the first one they meet.
fn delimiter_at_end(data: &[u8], boundary: &[u8]) -> Option<usize> {
    let stop = data.len().checked_sub(boundary.len() + 2)?;
    // A '-' is rare in text: look at each rather than build a substring searcher per part.
    let first = memchr::memchr_iter(b'-', data)
        .find(|&at| data[at..].starts_with(b"--") && data[at + 2..].starts_with(boundary));
    (first == Some(stop)).then_some(stop)
}

/// Content without a transfer encoding: its bytes up to the line break before the delimiter
/// (or up to the delimiter itself when no line break precedes it), or all of `data`.
fn plain(data: &[u8], stop: Option<usize>) -> &[u8] {
    let Some(stop) = stop else { return data };
    let end = match stop.checked_sub(1).map(|i| data[i]) {
        Some(b'\n') if stop >= 2 && data[stop - 2] == b'\r' => stop - 2,
        Some(b'\n') => stop - 1,
        _ => stop,
    };
    &data[..end]
}

/// The value of a hexadecimal digit as mail-parser reads one (either case), or `None`.
fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qp {
    /// Between escapes.
    Text,
    /// After `=`.
    Eq,
    /// After `=` and one hex digit (its value).
    Hex1(u8),
}

/// Quoted-printable, as mail-parser's `decode_quoted_printable_mime`: `stop` is where the
/// delimiter's `--` starts, `None` to read to the end.
fn quoted_printable(data: &[u8], stop: Option<usize>) -> Option<Vec<u8>> {
    // Every byte up to and including the delimiter's first '-' is decoded; the second ends the
    // part.
    let read = match stop {
        Some(stop) => &data[..=stop],
        None => data,
    };
    let mut out = Vec::with_capacity(read.len());
    let mut state = Qp::Text;
    // Line breaks are written as LF until a CR has been seen anywhere in the part, then as CRLF;
    // CRs themselves are dropped.
    let mut crlf = false;
    // How many white space bytes end `out` since the last line break or escape: they are
    // dropped at the next line break.
    let mut trailing_space = 0usize;
    let mut last = 0u8;
    let mut at = 0;
    while at < read.len() {
        if state == Qp::Text {
            // The common case: a run of bytes copied as they are.
            let run_end =
                memchr::memchr3(b'=', b'\n', b'\r', &read[at..]).map_or(read.len(), |i| at + i);
            if run_end > at {
                let run = &read[at..run_end];
                out.extend_from_slice(run);
                let spaces = run
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                trailing_space = if spaces == run.len() {
                    trailing_space + spaces
                } else {
                    spaces
                };
                last = run[run.len() - 1];
                at = run_end;
                continue;
            }
        }
        let byte = read[at];
        match byte {
            b'=' => {
                if state != Qp::Text {
                    return None; // mail-parser: an encoding problem
                }
                state = Qp::Eq;
            }
            b'\n' => {
                if state == Qp::Eq {
                    state = Qp::Text; // a soft line break
                } else {
                    // After "=X" the state stays: mail-parser reads the next byte as the second
                    // digit.
                    out.truncate(out.len() - trailing_space);
                    if crlf {
                        out.push(b'\r');
                    }
                    out.push(b'\n');
                }
                trailing_space = 0;
            }
            b'\r' => crlf = true,
            _ => match state {
                Qp::Text => {
                    out.push(byte);
                    trailing_space = if byte.is_ascii_whitespace() {
                        trailing_space + 1
                    } else {
                        0
                    };
                }
                Qp::Eq => match hex(byte) {
                    Some(high) => state = Qp::Hex1(high),
                    None if byte.is_ascii_whitespace() => {}
                    None => {
                        state = Qp::Text;
                        out.extend_from_slice(&[b'=', byte]);
                        trailing_space = 0;
                    }
                },
                Qp::Hex1(high) => {
                    state = Qp::Text;
                    match hex(byte) {
                        Some(low) => out.push((high << 4) | low),
                        // mail-parser writes the byte read before this one, whatever it was.
                        None => out.extend_from_slice(&[b'=', last, byte]),
                    }
                    trailing_space = 0;
                }
            },
        }
        last = byte;
        at += 1;
    }
    if let Some(stop) = stop {
        // The delimiter's first '-' was written; mail-parser takes it back, with the line break
        // before it when the byte before that '-' was a LF, whether or not a line break was
        // written for that LF (a soft line break writes none).
        let before = stop.checked_sub(1).map(|i| data[i]);
        let drop = if before == Some(b'\n') {
            if crlf { 3 } else { 2 }
        } else {
            1
        };
        // Where mail-parser's subtraction would overflow (it panics in a debug build and keeps
        // everything in a release build) candor lets mail-parser read the part itself.
        let keep = out.len().checked_sub(drop)?;
        out.truncate(keep);
    }
    Some(out)
}

/// The value of a base64 character, or `None`.
fn sextet(byte: u8) -> Option<u32> {
    match byte {
        b'A'..=b'Z' => Some(u32::from(byte - b'A')),
        b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Base64, as mail-parser's `decode_base64_mime`: white space and CRs are skipped, `=` writes
/// what the group holds so far and starts a new one, any other byte is an encoding problem, and
/// so is `--` anywhere but at the delimiter.
fn base64(data: &[u8], stop: Option<usize>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut group = 0u32; // the sextets of the group so far, first in the high bits
    let mut count = 0u8;
    let mut last = b'\n';
    for (at, &byte) in data.iter().enumerate() {
        if let Some(value) = sextet(byte) {
            group = (group << 6) | value;
            count += 1;
            if count == 4 {
                out.extend_from_slice(&[(group >> 16) as u8, (group >> 8) as u8, group as u8]);
                (group, count) = (0, 0);
            }
        } else {
            match byte {
                b'=' => {
                    // mail-parser writes the first byte of a group of one or two sextets (of one,
                    // the sextet's six bits alone) and the first two of a group of three.
                    match count {
                        1 => out.push((group << 2) as u8),
                        2 => out.push((group >> 4) as u8),
                        3 => out.extend_from_slice(&[(group >> 10) as u8, (group >> 2) as u8]),
                        _ => {}
                    }
                    (group, count) = (0, 0);
                }
                b'\n' | b' ' | b'\t' | b'\r' => {}
                b'-' if last == b'-' => {
                    // The end of the part, if this is the delimiter; else an encoding problem.
                    return (stop == Some(at - 1)).then_some(out);
                }
                b'-' => {}
                _ => return None,
            }
        }
        last = byte;
    }
    // The end of the input: the end of a single part, an encoding problem in a multipart.
    stop.is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mail-parser's own reading of a text part: the part's bytes inside a message.
    fn reference(encoding: &str, content: &[u8], eol: &str, multipart: bool) -> Option<String> {
        let mut raw = Vec::new();
        if multipart {
            raw.extend_from_slice(
                format!(
                    "From: a@x{eol}Content-Type: multipart/mixed; boundary=\"b\"{eol}{eol}--b{eol}\
                     Content-Type: text/plain{eol}Content-Transfer-Encoding: {encoding}{eol}{eol}"
                )
                .as_bytes(),
            );
            raw.extend_from_slice(content);
            raw.extend_from_slice(format!("{eol}--b--{eol}").as_bytes());
        } else {
            raw.extend_from_slice(
                format!("From: a@x{eol}Content-Transfer-Encoding: {encoding}{eol}{eol}").as_bytes(),
            );
            raw.extend_from_slice(content);
        }
        let parsed = mail_parser::MessageParser::new().parse(&raw[..])?;
        let part = parsed.parts.get(*parsed.text_body.first()? as usize)?;
        if part.is_encoding_problem {
            return None;
        }
        parsed.body_text(0).map(|t| t.into_owned())
    }

    fn ours(encoding: &str, content: &[u8], eol: &str, multipart: bool) -> Option<String> {
        let encoding = match encoding {
            "quoted-printable" => Encoding::QuotedPrintable,
            "base64" => Encoding::Base64,
            _ => Encoding::None,
        };
        let mut data = content.to_vec();
        let boundary: &[u8] = if multipart { b"b" } else { b"" };
        if multipart {
            data.extend_from_slice(format!("{eol}--b").as_bytes());
        }
        part(encoding, &data, boundary).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"Hello",
        b"Hello there  \r\nsecond line\t \r\n\r\nthird",
        b"soft =\r\nbreak and Gr=C3=BC=C3=9Fe =3D",
        b"bad =ZZ escape and =A",
        b"=\r\n",
        b"trailing =",
        b"x=4\r\n1y",
        b"a -- b -- --c",
        b"lower =c3=a9 and spaces =  \r\nend",
        b"=\tx=",
        b"SGVsbG8gdGhlcmU=",
        b"SGVs\r\nbG8g\r\ndGhl cmU=",
        b"QQ==QUJD",
        b"QUI=",
        b"QUJD\r\nQQ",
        b"Q",
        b"QUJD-x",
        b"QUJD--y",
        b"not base64 at all!",
        b"line\nbare lf\n",
        b"only\rcr",
    ];

    #[test]
    fn decodes_as_mail_parser_does() {
        for &content in SAMPLES {
            for encoding in ["quoted-printable", "base64", "8bit"] {
                for eol in ["\r\n", "\n"] {
                    for multipart in [true, false] {
                        let want = reference(encoding, content, eol, multipart);
                        let got = ours(encoding, content, eol, multipart);
                        // Where mail-parser reads the part otherwise, candor must not decode it.
                        if got.is_some() {
                            assert_eq!(
                                got,
                                want,
                                "{encoding} {eol:?} multipart={multipart} {:?}",
                                String::from_utf8_lossy(content)
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_what_mail_parser_reads_otherwise() {
        // Two '=' in a row, and a delimiter before the end.
        assert_eq!(ours("quoted-printable", b"a==b", "\r\n", true), None);
        assert_eq!(ours("8bit", b"a\r\n--b\r\nmore", "\r\n", true), None);
        assert_eq!(ours("base64", b"QUJD!", "\r\n", true), None);
        assert_eq!(ours("base64", b"QU--JD", "\r\n", false), None);
        // The decodings that must be ours.
        assert_eq!(
            ours("quoted-printable", b"Gr=C3=BC=C3=9Fe =\r\nx", "\r\n", true).as_deref(),
            Some("Grüße x")
        );
        assert_eq!(
            ours("base64", b"SGVsbG8=", "\r\n", true).as_deref(),
            Some("Hello")
        );
    }
}
