//! Submitting one email over SMTP (lettre), step by step, so that every failure is known to have
//! happened before the server could have accepted the message, or not (SPEC §8).

use std::time::Duration;

use anyhow::Context as _;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;

use crate::config::{AuthMethod, Server, TlsMode};
use crate::failpoint;

const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// How a submission ended.
#[derive(Debug)]
pub enum Outcome {
    /// The server accepted the message (2xx after DATA).
    Accepted,
    /// Refused for good (5xx): never retried.
    Permanent(String),
    /// Not accepted, and known not to be: a 4xx reply or a failure before the end of DATA.
    Transient(String),
    /// The connection failed after the message was handed over and before the server's reply:
    /// it may or may not have been accepted. Never retried automatically.
    Unknown(String),
}

fn tls_parameters(server: &Server) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(server.host.clone());
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        builder = builder.add_root_certificate(
            Certificate::from_pem(&pem)
                .with_context(|| format!("the CA file {} is not valid PEM", path.display()))?,
        );
    }
    builder.build_rustls().context("cannot set up TLS for SMTP")
}

fn describe(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Sends `raw` from `from` to `to` through `server`.
pub async fn submit(server: &Server, from: &str, to: &str, raw: &[u8]) -> Outcome {
    // Everything up to and including the DATA command's 354 is "before": safe to retry.
    let mut conn = match open(server).await {
        Ok(conn) => conn,
        Err(err) => return Outcome::Transient(format!("{err:#}")),
    };
    let envelope = match (from.parse(), to.parse()) {
        (Ok(f), Ok(t)) => match Envelope::new(Some(f), vec![t]) {
            Ok(e) => e,
            Err(e) => return Outcome::Permanent(format!("invalid envelope: {e}")),
        },
        _ => return Outcome::Permanent(format!("invalid envelope addresses {from:?} → {to:?}")),
    };
    let before = async {
        conn.command(Mail::new(envelope.from().cloned(), vec![]))
            .await?;
        for rcpt in envelope.to() {
            conn.command(Rcpt::new(rcpt.clone(), vec![])).await?;
        }
        conn.command(Data).await
    };
    match tokio::time::timeout(SMTP_TIMEOUT, before).await {
        Err(_) => return Outcome::Transient("the SMTP server did not answer in time".to_owned()),
        Ok(Err(err)) if err.is_permanent() => return Outcome::Permanent(describe(&err)),
        Ok(Err(err)) => return Outcome::Transient(describe(&err)),
        Ok(Ok(_)) => {}
    }
    let outcome = match tokio::time::timeout(SMTP_TIMEOUT, conn.message(raw)).await {
        Err(_) => Outcome::Unknown("no reply to the end of DATA in time".to_owned()),
        Ok(Ok(_)) => Outcome::Accepted,
        Ok(Err(err)) if err.is_permanent() => Outcome::Permanent(describe(&err)),
        Ok(Err(err)) if err.is_transient() => Outcome::Transient(describe(&err)),
        Ok(Err(err)) => Outcome::Unknown(describe(&err)),
    };
    failpoint::hit(failpoint::AFTER_DATA_REPLY);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
    outcome
}

async fn open(server: &Server) -> anyhow::Result<AsyncSmtpConnection> {
    let hello = ClientId::default();
    let address = (server.host.as_str(), server.port);
    let implicit = match server.tls {
        TlsMode::Implicit => Some(tls_parameters(server)?),
        _ => None,
    };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1(address, Some(SMTP_TIMEOUT), &hello, implicit, None)
            .await
            .with_context(|| format!("connecting to {}:{}", server.host, server.port))?;
    if server.tls == TlsMode::Starttls {
        conn.starttls(tls_parameters(server)?, &hello)
            .await
            .with_context(|| format!("STARTTLS with {}:{}", server.host, server.port))?;
    }
    let source = server.password.clone();
    let secret = tokio::task::spawn_blocking(move || source.resolve())
        .await
        .context("the password source task failed")?
        .context("the SMTP password source")?;
    let credentials = Credentials::new(server.username.clone(), secret.expose().to_owned());
    let mechanisms = match server.auth {
        AuthMethod::Login => vec![Mechanism::Plain, Mechanism::Login],
        AuthMethod::Xoauth2 => vec![Mechanism::Xoauth2],
    };
    conn.auth(&mechanisms, &credentials).await.map_err(|e| {
        anyhow::anyhow!(
            "the SMTP server refused the login as {}: {}",
            server.username,
            describe(&e)
        )
    })?;
    Ok(conn)
}
