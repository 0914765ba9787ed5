//! Small IMAP and SMTP clients the harness uses to look into (and post to) its own stack.
//!
//! async-imap 0.12 quirks handled here (notes/crates.md): `Client::new` does not read the
//! greeting; STARTTLS is done by hand; fetch streams are drained and dropped before the next
//! command.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use futures::TryStreamExt;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::StoredMessage;

/// A logged-in IMAP session over TLS.
pub type ImapSession = async_imap::Session<TlsStream<TcpStream>>;

/// How to reach the IMAP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImapTls {
    /// Plain connection upgraded with STARTTLS (the `imap` port).
    StartTls,
    /// TLS from the first byte (the `imaps` port).
    Implicit,
}

/// Connects to 127.0.0.1:`port`, sets up TLS with `config` (server name `localhost`) and logs in.
pub async fn imap_login(
    port: u16,
    mode: ImapTls,
    config: Arc<ClientConfig>,
    username: &str,
    password: &str,
) -> anyhow::Result<ImapSession> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
    let connector = TlsConnector::from(config);
    let name = ServerName::try_from("localhost").context("server name")?;
    let tls = match mode {
        ImapTls::Implicit => connector
            .connect(name, tcp)
            .await
            .context("TLS handshake")?,
        ImapTls::StartTls => {
            let mut client = async_imap::Client::new(tcp);
            read_greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .context("STARTTLS")?;
            connector
                .connect(name, client.into_inner())
                .await
                .context("TLS handshake after STARTTLS")?
        }
    };
    let mut client = async_imap::Client::new(tls);
    if mode == ImapTls::Implicit {
        read_greeting(&mut client).await?;
    }
    client
        .login(username, password)
        .await
        .map_err(|(error, _client)| anyhow!(error).context(format!("IMAP login as {username}")))
}

async fn read_greeting<T>(client: &mut async_imap::Client<T>) -> anyhow::Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match client.read_response().await {
        Ok(Some(_greeting)) => Ok(()),
        Err(error) => Err(anyhow!(error).context("reading the IMAP greeting")),
        Ok(None) => bail!("the IMAP server closed the connection before its greeting"),
    }
}

/// Every message of `folder`: EXAMINE, then `UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])`.
pub async fn fetch_all(
    session: &mut ImapSession,
    folder: &str,
) -> anyhow::Result<Vec<StoredMessage>> {
    let mailbox = session
        .examine(folder)
        .await
        .with_context(|| format!("EXAMINE {folder}"))?;
    if mailbox.exists == 0 {
        return Ok(Vec::new());
    }
    let fetches: Vec<_> = session
        .uid_fetch("1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        .await
        .with_context(|| format!("UID FETCH in {folder}"))?
        .try_collect()
        .await
        .with_context(|| format!("reading the UID FETCH answer in {folder}"))?;
    let mut messages = Vec::with_capacity(fetches.len());
    for fetch in &fetches {
        let uid = fetch.uid.context("FETCH answer without UID")?;
        let date = fetch
            .internal_date()
            .context("FETCH answer without INTERNALDATE")?;
        let internal_date =
            jiff::Timestamp::from_second(date.timestamp()).context("INTERNALDATE out of range")?;
        let flags = fetch.flags().map(|flag| flag_name(&flag)).collect();
        let raw = fetch
            .body()
            .context("FETCH answer without a body")?
            .to_vec();
        messages.push(StoredMessage {
            uid,
            internal_date,
            flags,
            raw,
        });
    }
    messages.sort_by_key(|message| message.uid);
    Ok(messages)
}

fn flag_name(flag: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match flag {
        Flag::Seen => "\\Seen".to_owned(),
        Flag::Answered => "\\Answered".to_owned(),
        Flag::Flagged => "\\Flagged".to_owned(),
        Flag::Deleted => "\\Deleted".to_owned(),
        Flag::Draft => "\\Draft".to_owned(),
        Flag::Recent => "\\Recent".to_owned(),
        Flag::MayCreate => "\\*".to_owned(),
        Flag::Custom(name) => name.to_string(),
    }
}

/// Submits `raw` over SMTP with STARTTLS (required) and AUTH, trusting only `ca_pem`.
///
/// The lettre error stays in the chain: callers may downcast to
/// `lettre::transport::smtp::Error` and read `status()` (e.g. 421, 451, 550 at RCPT).
pub async fn smtp_submit(
    port: u16,
    ca_pem: &[u8],
    username: &str,
    password: &str,
    envelope_from: &str,
    to: &[&str],
    raw: &[u8],
) -> anyhow::Result<()> {
    use lettre::AsyncTransport;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};

    let tls = TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(Certificate::from_pem(ca_pem).context("parsing the test CA")?)
        .build_rustls()
        .context("building the SMTP TLS parameters")?;
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .tls(Tls::Required(tls))
            .credentials(Credentials::new(username.to_owned(), password.to_owned()))
            .build();
    let from = envelope_from
        .parse()
        .with_context(|| format!("envelope sender {envelope_from:?}"))?;
    let to = to
        .iter()
        .map(|address| {
            address
                .parse()
                .with_context(|| format!("recipient {address:?}"))
        })
        .collect::<anyhow::Result<Vec<lettre::Address>>>()?;
    let envelope =
        lettre::address::Envelope::new(Some(from), to).context("building the envelope")?;
    transport
        .send_raw(&envelope, raw)
        .await
        .context("SMTP submission")?;
    Ok(())
}
