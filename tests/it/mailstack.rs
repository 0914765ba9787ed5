//! The loopback mail stack itself: TLS, delivery, refusals, bounces, seeding and clean stops.

use std::time::Duration;

use candor::testkit::{ImapTls, MailStack, SeedMessage, client, stack_processes, tls};

const ARRIVAL: Duration = Duration::from_secs(20);

async fn start() -> MailStack {
    tokio::task::spawn_blocking(MailStack::start)
        .await
        .expect("start task")
        .expect("the mail stack starts")
}

fn message(from: &str, to: &str, subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nHello, this is {subject}.\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn stack_starts_and_login_needs_the_test_ca() {
    let stack = start().await;
    let user = stack.add_user("jane@agency.example").unwrap();
    for mode in [ImapTls::StartTls, ImapTls::Implicit] {
        let mut session = stack.imap_session(&user, mode).await.unwrap();
        session.noop().await.unwrap();
        session.logout().await.unwrap();

        let port = if mode == ImapTls::StartTls {
            stack.imap_port()
        } else {
            stack.imaps_port()
        };
        let public = tls::trusting_public_roots().unwrap();
        let error = client::imap_login(port, mode, public, &user.username, &user.password)
            .await
            .expect_err("public roots must not trust the throwaway CA");
        let text = format!("{error:#}");
        assert!(
            text.contains("certificate") || text.contains("UnknownIssuer"),
            "{mode:?}: {text}"
        );
    }
    let wrong = client::imap_login(
        stack.imaps_port(),
        ImapTls::Implicit,
        tls::trusting_ca_file(&stack.ca_file()).unwrap(),
        &user.username,
        "wrong password",
    )
    .await;
    assert!(wrong.is_err());
    stack.stop().unwrap();
}

#[tokio::test]
async fn submitted_message_arrives_in_the_inbox() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    let raw = message(
        &jane.address,
        &ann.address,
        "Your application",
        "arrive-1@agency.example",
    );
    stack
        .submit(&jane, &jane.address, &[&ann.address], &raw)
        .await
        .unwrap();
    let arrived = stack
        .wait_for_message(
            &ann,
            "INBOX",
            |m| contains(&m.raw, "arrive-1@agency.example"),
            ARRIVAL,
        )
        .await
        .unwrap();
    assert!(contains(&arrived.raw, "Subject: Your application"));
    assert!(arrived.flags.is_empty() || arrived.flags.iter().all(|f| f == "\\Recent"));
}

#[tokio::test]
async fn refused_recipients_get_the_configured_code_at_rcpt() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    for (code, address) in [
        (421, "busy@candidates.example"),
        (451, "later@candidates.example"),
        (550, "never@candidates.example"),
    ] {
        stack
            .refuse_recipient(address, code, "refused by the test")
            .unwrap();
        let raw = message(&jane.address, address, "Refusal", "refusal@agency.example");
        let error = stack
            .submit(&jane, &jane.address, &[address], &raw)
            .await
            .expect_err("the refusal map answers at RCPT");
        let smtp = error
            .downcast_ref::<lettre::transport::smtp::Error>()
            .unwrap_or_else(|| panic!("not an SMTP error: {error:#}"));
        let status = smtp.status().map(|status| status.to_string());
        assert_eq!(
            status.as_deref(),
            Some(code.to_string().as_str()),
            "{error:#}"
        );
    }
    stack.clear_refusals().unwrap();
    let ok = stack.add_user("never@candidates.example").unwrap();
    let raw = message(
        &jane.address,
        &ok.address,
        "After clearing",
        "cleared@agency.example",
    );
    stack
        .submit(&jane, &jane.address, &[&ok.address], &raw)
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_local_user_bounces_into_the_senders_inbox() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    let raw = message(
        &jane.address,
        "nobody@candidates.example",
        "Hello",
        "bounce-me@agency.example",
    );
    stack
        .submit(&jane, &jane.address, &["nobody@candidates.example"], &raw)
        .await
        .unwrap();
    let dsn = stack
        .wait_for_message(
            &jane,
            "INBOX",
            |m| contains(&m.raw, "multipart/report"),
            ARRIVAL,
        )
        .await
        .unwrap();
    assert!(contains(&dsn.raw, "MAILER-DAEMON"));
    assert!(contains(
        &dsn.raw,
        "Final-Recipient: rfc822; nobody@candidates.example"
    ));
    assert!(contains(&dsn.raw, "Status: 5.1.1"));
}

#[tokio::test]
async fn seeded_messages_keep_their_internal_dates() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    let base: jiff::Timestamp = "2026-01-05T08:00:00Z".parse().unwrap();
    let make = |folder: &str, n: i64| SeedMessage {
        raw: message(
            "a@candidates.example",
            "jane@agency.example",
            folder,
            &format!("{folder}-{n}@seed"),
        ),
        internal_date: base + jiff::SignedDuration::from_secs(n * 3_607),
        flags: if n % 2 == 0 {
            "S".into()
        } else {
            String::new()
        },
    };
    for folder in ["INBOX", "Sent"] {
        let seeded: Vec<SeedMessage> = (0..1_000).map(|n| make(folder, n)).collect();
        stack.seed(&jane, folder, &seeded).unwrap();
        let read = stack.read_folder(&jane, folder).await.unwrap();
        assert_eq!(read.len(), 1_000, "{folder}");
        for (stored, seed) in read.iter().zip(&seeded) {
            assert_eq!(
                stored.raw, seed.raw,
                "{folder}: UIDs follow the seeding order"
            );
            assert_eq!(stored.internal_date, seed.internal_date);
            assert_eq!(
                stored.flags.contains(&"\\Seen".to_owned()),
                seed.flags == "S"
            );
        }
    }
}

#[tokio::test]
async fn deleting_and_recreating_a_folder_changes_uidvalidity() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    stack.create_folder(&jane, "Archive").unwrap();
    let mut session = stack.imap_session(&jane, ImapTls::Implicit).await.unwrap();
    let before = session.examine("Archive").await.unwrap().uid_validity;
    session.logout().await.unwrap();
    stack.delete_folder(&jane, "Archive").unwrap();
    stack.create_folder(&jane, "Archive").unwrap();
    let mut session = stack.imap_session(&jane, ImapTls::Implicit).await.unwrap();
    let after = session.examine("Archive").await.unwrap().uid_validity;
    session.logout().await.unwrap();
    assert!(before.is_some() && after.is_some());
    assert_ne!(before, after);
}

#[tokio::test]
async fn no_server_process_survives_stop_or_drop() {
    let stack = start().await;
    let user = stack.add_user("jane@agency.example").unwrap();
    let dir = stack.dir().to_path_buf();
    // An open session forks an `imap` child: it must be recognised as the stack's too.
    let session = stack.imap_session(&user, ImapTls::Implicit).await.unwrap();
    let names: Vec<String> = stack_processes(Some(&dir))
        .iter()
        .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default())
        .collect();
    for expected in ["dovecot", "auth", "imap", "master", "qmgr"] {
        assert!(
            names.iter().any(|n| n.trim() == expected),
            "{expected} missing in {names:?}"
        );
    }
    drop(session);
    tokio::task::spawn_blocking(move || stack.stop())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack_processes(Some(&dir)), Vec::<u32>::new());

    let stack = start().await;
    let dir = stack.dir().to_path_buf();
    assert!(!stack_processes(Some(&dir)).is_empty());
    tokio::task::spawn_blocking(move || drop(stack))
        .await
        .unwrap();
    assert_eq!(stack_processes(Some(&dir)), Vec::<u32>::new());
    assert!(!dir.exists(), "a throwaway stack removes its directory");
}

#[tokio::test]
async fn dovecot_outage_and_restart_keep_the_ports() {
    let stack = start().await;
    let jane = stack.add_user("jane@agency.example").unwrap();
    stack.stop_dovecot().unwrap();
    assert!(stack.imap_session(&jane, ImapTls::Implicit).await.is_err());
    stack.start_dovecot().unwrap();
    stack
        .imap_session(&jane, ImapTls::Implicit)
        .await
        .unwrap()
        .logout()
        .await
        .unwrap();
    stack.restart_postfix().unwrap();
    let raw = message(&jane.address, &jane.address, "Self", "self@agency.example");
    stack
        .submit(&jane, &jane.address, &[&jane.address], &raw)
        .await
        .unwrap();
    stack
        .wait_for_message(
            &jane,
            "INBOX",
            |m| contains(&m.raw, "self@agency.example"),
            ARRIVAL,
        )
        .await
        .unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}
