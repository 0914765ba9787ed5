//! Threading as data: messages in, expected partitions out.

use super::*;

const DAY: i64 = 86_400;
const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// A message: key, id, in-reply-to, references, day offset, correspondent, subject.
struct M(
    i64,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static str,
);

/// The threader's view of `m`. Its id lists are leaked: a test threads a few dozen messages.
fn input(m: &M) -> ThreadInput<'static> {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let leaked = |s: &str| -> &'static [String] { Vec::leak(words(s)) };
    ThreadInput {
        key: m.0,
        message_id: (!m.1.is_empty()).then_some(m.1),
        extra_message_ids: &[],
        in_reply_to: leaked(m.2),
        references: leaked(m.3),
        time: Timestamp::from_second(T0 + m.4 * DAY).expect("test time in range"),
        correspondents: words(m.5),
        subject: (!m.6.is_empty()).then_some(m.6),
    }
}

fn partition(threader: &Threader) -> Vec<Vec<i64>> {
    let mut parts: Vec<Vec<i64>> = threader.threads().into_values().collect();
    parts.sort();
    parts
}

fn thread_all(msgs: &[M]) -> Vec<Vec<i64>> {
    let mut threader = Threader::new();
    for m in msgs {
        threader.add(&input(m));
    }
    partition(&threader)
}

/// Every order of a small case gives the same partition when only header links are involved.
fn assert_order_independent(msgs: &[M], want: &[&[i64]]) {
    let want: Vec<Vec<i64>> = want.iter().map(|p| p.to_vec()).collect();
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    // Heap's algorithm would be overkill: rotations and the reverse cover the orders that matter.
    for rotation in 0..msgs.len() {
        for reverse in [false, true] {
            let mut threader = Threader::new();
            let mut this = order.clone();
            if reverse {
                this.reverse();
            }
            for &i in &this {
                threader.add(&input(&msgs[i]));
            }
            assert_eq!(
                partition(&threader),
                want,
                "rotation {rotation} reverse {reverse}"
            );
        }
        order.rotate_left(1);
    }
}

#[test]
fn a_message_prepared_elsewhere_threads_as_one_read_by_the_threader() {
    let msgs = [
        M(1, "a@x", "", "", 0, "c@x", "Hello"),
        M(2, "b@x", "a@x", "a@x", 1, "c@x", "Re: Hello"),
        M(3, "", "", "", 2, "c@x", "Re: Hello"),
        M(4, "d@x", "", "", 3, "e@x", "Other"),
    ];
    let mut read = Threader::new();
    let mut prepared = Threader::new();
    // A copy of the digest function, as the sync's parser thread holds.
    let digests = prepared.digests();
    for m in &msgs {
        let input = input(m);
        let elsewhere = digests.prepare(&input);
        assert_eq!(elsewhere, prepared.digests().prepare(&input));
        assert_eq!(
            read.add(&input).thread,
            prepared.add_prepared(input.key, &elsewhere).thread
        );
    }
    assert_eq!(partition(&read), partition(&prepared));
    assert_eq!(partition(&read), vec![vec![1, 2, 3], vec![4]]);
}

#[test]
fn header_links_form_components() {
    let msgs = [
        M(1, "<a@x>", "", "", 0, "c@x", "Role"),
        M(2, "<b@x>", "<a@x>", "<a@x>", 1, "c@x", "Re: Role"),
        M(3, "<c@x>", "", "<a@x> <b@x>", 2, "c@x", "Re: Role"),
        M(4, "<d@x>", "", "", 0, "d@x", "Other"),
    ];
    assert_order_independent(&msgs, &[&[1, 2, 3], &[4]]);
}

#[test]
fn ghost_parent_joins_its_children() {
    let msgs = [
        M(1, "<a@x>", "<ghost@x>", "", 0, "c@x", "x"),
        M(2, "<b@x>", "", "<ghost@x>", 1, "d@x", "y"),
        M(3, "<c@x>", "<b@x>", "", 1, "e@x", "z"),
    ];
    assert_order_independent(&msgs, &[&[1, 2, 3]]);
}

#[test]
fn bogus_ids_join_nothing() {
    let msgs = [
        M(1, "<a@x>", "<yes>", "", 0, "c@x", "x"),
        M(2, "<b@x>", "<yes>", "", 0, "d@x", "y"),
        M(3, "<c@x>", "", "<no-at-sign> <@x> <x@>", 0, "e@x", "z"),
        M(4, "<d@x>", "", "<no-at-sign>", 0, "f@x", "z"),
    ];
    assert_order_independent(&msgs, &[&[1], &[2], &[3], &[4]]);
}

#[test]
fn cycles_are_harmless() {
    let msgs = [
        M(1, "<a@x>", "<b@x>", "", 0, "c@x", "x"),
        M(2, "<b@x>", "<a@x>", "", 0, "c@x", "x"),
        M(3, "<c@x>", "<c@x>", "<c@x>", 0, "c@x", "x"),
    ];
    assert_order_independent(&msgs, &[&[1, 2], &[3]]);
}

#[test]
fn duplicate_message_ids_share_a_thread() {
    let msgs = [
        M(1, "<a@x>", "", "", 0, "c@x", "x"),
        M(2, "a@x", "", "", 1, "c@x", "x"),
        M(3, "<b@x>", "<a@x>", "", 2, "c@x", "x"),
    ];
    assert_order_independent(&msgs, &[&[1, 2, 3]]);
}

#[test]
fn extra_message_ids_are_joined() {
    let mut threader = Threader::new();
    let mut first = input(&M(1, "<a@x>", "", "", 0, "c@x", "x"));
    let extra = ["<second@x>".to_owned()];
    first.extra_message_ids = &extra;
    threader.add(&first);
    let reply = threader.add(&input(&M(2, "<b@x>", "<second@x>", "", 1, "d@x", "y")));
    assert_eq!(reply.thread, ThreadId(1));
}

#[test]
fn merges_report_the_absorbed_threads() {
    let mut threader = Threader::new();
    let a = threader.add(&input(&M(10, "<a@x>", "", "", 0, "c@x", "x")));
    let b = threader.add(&input(&M(11, "<b@x>", "", "", 0, "d@x", "y")));
    assert_eq!((a.thread, b.thread), (ThreadId(10), ThreadId(11)));
    let joiner = threader.add(&input(&M(12, "<c@x>", "", "<a@x> <b@x>", 1, "c@x", "x")));
    assert_eq!(
        joiner,
        ThreadAssignment {
            thread: ThreadId(10),
            merged: vec![ThreadId(11)]
        }
    );
    assert_eq!(threader.thread_of(11), Some(ThreadId(10)));
    assert_eq!(threader.thread_of(99), None);
    // A message with a smaller key than its thread renames the thread, reported as a merge.
    let early = threader.add(&input(&M(5, "<d@x>", "<c@x>", "", 2, "c@x", "x")));
    assert_eq!(
        early,
        ThreadAssignment {
            thread: ThreadId(5),
            merged: vec![ThreadId(10)]
        }
    );
    let again = threader.add(&input(&M(5, "<d@x>", "<c@x>", "", 2, "c@x", "x")));
    assert_eq!(again.merged, Vec::<ThreadId>::new());
}

/// Thread partition as sorted key lists.
type Partition = Vec<Vec<i64>>;

#[test]
fn headerless_replies() {
    // (name, messages, expected partition)
    let cases: Vec<(&str, Vec<M>, Partition)> = vec![
        (
            "attaches to the same correspondent and subject",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "", "", 1, "ann@c", "AW: Rust role"),
            ],
            vec![vec![1, 2]],
        ),
        (
            "a subject alone never joins different correspondents",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "", "", 1, "bob@c", "Re: Rust role"),
            ],
            vec![vec![1], vec![2]],
        ),
        (
            "no reply prefix, no attachment",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "", "", 1, "ann@c", "Rust role"),
            ],
            vec![vec![1], vec![2]],
        ),
        (
            "more than 30 days back is too far",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "", "", 31, "ann@c", "Re: Rust role"),
            ],
            vec![vec![1], vec![2]],
        ),
        (
            "the most recent thread wins",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "", "", 5, "ann@c", "Rust role"),
                M(3, "<c@x>", "", "", 6, "ann@c", "Re: Rust role"),
            ],
            vec![vec![1], vec![2, 3]],
        ),
        (
            "a message with a usable header link does not use the subject",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "<elsewhere@x>", "", 1, "ann@c", "Re: Rust role"),
            ],
            vec![vec![1], vec![2]],
        ),
        (
            "a bogus header link counts as none",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
                M(2, "<b@x>", "<yes>", "", 1, "ann@c", "Re: Rust role"),
            ],
            vec![vec![1, 2]],
        ),
        (
            "a shared correspondent among several is enough",
            vec![
                M(1, "<a@x>", "", "", 0, "ann@c bob@c", "Rust role"),
                M(2, "<b@x>", "", "", 1, "bob@c", "Re: rust  ROLE"),
            ],
            vec![vec![1, 2]],
        ),
        (
            "a later original adopts an orphan reply",
            vec![
                M(2, "<b@x>", "", "", 3, "ann@c", "Re: Rust role"),
                M(1, "<a@x>", "", "", 0, "ann@c", "Rust role"),
            ],
            vec![vec![1, 2]],
        ),
        (
            "a later message after the orphan does not adopt it",
            vec![
                M(1, "<b@x>", "", "", 3, "ann@c", "Re: Rust role"),
                M(2, "<a@x>", "", "", 4, "ann@c", "Rust role"),
            ],
            vec![vec![1], vec![2]],
        ),
    ];
    for (name, msgs, want) in cases {
        assert_eq!(thread_all(&msgs), want, "{name}");
    }
}

#[test]
fn bogus_id_table() {
    let cases = [
        ("<a@b>", false),
        ("a@b", false),
        (" <a.b+c@d.example> ", false),
        ("<yes>", true),
        ("", true),
        ("<>", true),
        ("<a b@c>", true),
        ("<@b>", true),
        ("<a@>", true),
        ("<a@b><c@d>", true),
        ("no-at-sign", true),
    ];
    for (id, want) in cases {
        assert_eq!(is_bogus_id(id), want, "{id:?}");
    }
    assert!(is_bogus_id(&format!("<{}@x>", "a".repeat(2000))));
    // The byte-wise test of ASCII ids agrees with the character-wise one of other ids.
    for byte in 0u8..128 {
        let c = char::from(byte);
        let bad = c.is_whitespace() || c.is_control() || c == '<' || c == '>';
        assert_eq!(is_bogus_id(&format!("a{c}b@c")), bad, "{byte:#x}");
        assert_eq!(
            is_bogus_id(&format!("é{c}b@c")),
            bad,
            "{byte:#x} beside non-ASCII"
        );
    }
    assert!(is_bogus_id("<a\u{a0}b@c>"), "no-break space");
    assert!(is_bogus_id("<a\u{85}b@c>"), "next line");
    assert!(!is_bogus_id("<jürgen@b>"));
}

/// Found in review: `candidate forget` deleted Alice's messages 5 and 6 beside the daemon, whose
/// threader still held them; the store's next row id was 6 again, and Bob's new, unrelated
/// message given key 6 joined Alice's thread. New keys start above every key the threader holds.
#[test]
fn the_next_key_is_above_every_key_the_threader_holds() {
    let mut threader = Threader::new();
    assert_eq!(threader.next_key(), 1);
    threader.add(&input(&M(5, "a@x", "", "", 0, "alice@ext", "Role")));
    threader.add(&input(&M(6, "b@x", "a@x", "", 1, "alice@ext", "Re: Role")));
    threader.add(&input(&M(3, "c@x", "", "", 2, "carol@ext", "Hello")));
    assert_eq!(threader.next_key(), 7);
    let bob = threader.add(&input(&M(
        threader.next_key(),
        "d@y",
        "",
        "",
        3,
        "bob@ext",
        "Hello",
    )));
    assert_eq!(
        bob.thread,
        ThreadId(7),
        "Bob's message starts its own thread"
    );
}
