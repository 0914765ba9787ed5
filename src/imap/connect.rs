//! Opening an authenticated IMAP session: TCP, implicit TLS or STARTTLS, LOGIN or XOAUTH2, each
//! step under a timeout, with errors a caller can branch on (auth vs network vs TLS).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::socket::Socket;
use crate::config::{AuthMethod, Server, TlsMode};

/// Connect (TCP) timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout for the TLS handshake, the greeting and the login.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The byte stream under a session: plaintext (loopback only) or TLS, over a [`Socket`].
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {
    /// Bulk reading on or off (see imap/socket.rs): on while a sync streams FETCH answers.
    fn set_bulk(&mut self, on: bool);
}

impl Io for Socket {
    fn set_bulk(&mut self, on: bool) {
        Socket::set_bulk(self, on);
    }
}

impl<S: Io> Io for tokio_rustls::client::TlsStream<S> {
    fn set_bulk(&mut self, on: bool) {
        self.get_mut().0.set_bulk(on);
    }
}

impl Io for Box<dyn Io> {
    fn set_bulk(&mut self, on: bool) {
        (**self).set_bulk(on);
    }
}

pub type Session = async_imap::Session<Box<dyn Io>>;
type Client = async_imap::Client<Box<dyn Io>>;

/// What went wrong, for the caller to decide between retrying and asking the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImapErrorKind {
    /// Resolving or connecting failed, or the connection dropped.
    Network,
    /// The TLS handshake failed: wrong certificate, wrong host name, no TLS.
    Tls,
    /// The server refused the credentials (never retried blindly, SPEC §3).
    Auth,
    /// The password source failed (command or file).
    Credentials,
    /// A step did not finish in time.
    Timeout,
    /// The server answered something unexpected (BAD/NO to a command, a parse failure).
    Protocol,
}

#[derive(Debug, thiserror::Error)]
#[error("{context}: {detail}")]
pub struct ImapError {
    pub kind: ImapErrorKind,
    pub context: String,
    pub detail: String,
}

impl ImapError {
    pub fn new(kind: ImapErrorKind, context: impl Into<String>, detail: impl fmt::Display) -> Self {
        ImapError {
            kind,
            context: context.into(),
            detail: format!("{detail:#}"),
        }
    }

    /// Maps an async-imap error met while running `command`.
    pub fn from_imap(command: &str, err: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        let kind = match &err {
            E::Io(_) | E::ConnectionLost => ImapErrorKind::Network,
            _ => ImapErrorKind::Protocol,
        };
        ImapError::new(kind, command.to_owned(), err)
    }

    pub fn timed_out(what: &str) -> Self {
        ImapError::new(ImapErrorKind::Timeout, what.to_owned(), "timed out")
    }
}

/// Opens and authenticates a session to `server`.
pub async fn connect(server: &Server) -> Result<Session, ImapError> {
    let address = format!("{}:{}", server.host, server.port);
    let tcp = timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((server.host.as_str(), server.port)),
    )
    .await
    .map_err(|_| ImapError::timed_out(&format!("connecting to {address}")))?
    .map_err(|e| {
        ImapError::new(
            ImapErrorKind::Network,
            format!("connecting to {address}"),
            e,
        )
    })?;
    // Nagle's algorithm delays small IMAP commands behind unacknowledged writes.
    let _ = tcp.set_nodelay(true);
    let socket = Socket::new(tcp);

    let client = match server.tls {
        TlsMode::Implicit => {
            let tls = tls_handshake(server, socket).await?;
            greet(Client::new(Box::new(tls))).await?
        }
        TlsMode::Starttls => {
            let mut client = greet(async_imap::Client::new(socket)).await?;
            timeout(
                HANDSHAKE_TIMEOUT,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await
            .map_err(|_| ImapError::timed_out("STARTTLS"))?
            .map_err(|e| {
                ImapError::new(
                    ImapErrorKind::Tls,
                    "STARTTLS",
                    format!("server refused: {e}"),
                )
            })?;
            // What async-imap had buffered past the STARTTLS answer is dropped with it.
            let inner = client.into_inner();
            let tls = tls_handshake(server, inner).await?;
            // No second greeting after STARTTLS (RFC 3501 §6.2.1).
            Client::new(Box::new(tls))
        }
        TlsMode::None => greet(Client::new(Box::new(socket))).await?,
    };
    authenticate(server, client).await
}

async fn tls_handshake<S>(
    server: &Server,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, ImapError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = crate::tls::client_config(server.ca_file.as_deref())
        .map_err(|e| ImapError::new(ImapErrorKind::Tls, "loading trust anchors", e))?;
    let name = ServerName::try_from(server.host.clone())
        .map_err(|e| ImapError::new(ImapErrorKind::Tls, format!("host name {}", server.host), e))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
    timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream))
        .await
        .map_err(|_| ImapError::timed_out("TLS handshake"))?
        .map_err(|e| {
            ImapError::new(
                ImapErrorKind::Tls,
                format!("TLS handshake with {}:{}", server.host, server.port),
                e,
            )
        })
}

/// Reads the server greeting: `Client::new` does not (crates.md), and the first command would
/// otherwise read the greeting as its answer.
async fn greet<T: Io>(
    mut client: async_imap::Client<T>,
) -> Result<async_imap::Client<T>, ImapError> {
    let greeting = timeout(HANDSHAKE_TIMEOUT, client.read_response())
        .await
        .map_err(|_| ImapError::timed_out("waiting for the server greeting"))?
        .map_err(|e| ImapError::new(ImapErrorKind::Network, "reading the server greeting", e))?;
    if greeting.is_none() {
        return Err(ImapError::new(
            ImapErrorKind::Network,
            "reading the server greeting",
            "the server closed the connection",
        ));
    }
    Ok(client)
}

/// SASL XOAUTH2 (Google/Microsoft): `user=<u>\x01auth=Bearer <token>\x01\x01`. A failure comes as
/// a base64 JSON challenge that must be answered with an empty line, or the server waits seconds
/// before its NO (crates.md).
struct Xoauth2 {
    initial: String,
    sent: bool,
}

impl async_imap::Authenticator for Xoauth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if self.sent {
            String::new()
        } else {
            self.sent = true;
            self.initial.clone()
        }
    }
}

async fn authenticate(server: &Server, client: Client) -> Result<Session, ImapError> {
    let secret = {
        let source = server.password.clone();
        tokio::task::spawn_blocking(move || source.resolve())
            .await
            .map_err(|e| ImapError::new(ImapErrorKind::Credentials, "password source", e))?
            .map_err(|e| ImapError::new(ImapErrorKind::Credentials, "password source", e))?
    };
    let attempt = async {
        match server.auth {
            AuthMethod::Login => client.login(&server.username, secret.expose()).await,
            AuthMethod::Xoauth2 => {
                let auth = Xoauth2 {
                    initial: format!(
                        "user={}\x01auth=Bearer {}\x01\x01",
                        server.username,
                        secret.expose()
                    ),
                    sent: false,
                };
                client.authenticate("XOAUTH2", auth).await
            }
        }
    };
    match timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Err(_) => Err(ImapError::timed_out("login")),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((err, _client))) => {
            use async_imap::error::Error as E;
            let kind = match &err {
                // RFC 5530: [UNAVAILABLE] (and [SERVERBUG], [INUSE]) say the server could not
                // check the credentials right now, e.g. Dovecot's auth process restarting. That
                // is no refusal: counting it towards the three strikes would pause the account
                // for an hour after a server restart (found by the outage campaign).
                E::No(text) if is_temporary_login_failure(text) => ImapErrorKind::Network,
                E::No(_) | E::Bad(_) => ImapErrorKind::Auth,
                E::Io(_) | E::ConnectionLost => ImapErrorKind::Network,
                _ => ImapErrorKind::Protocol,
            };
            // The server's own words only (never our request, which holds the secret).
            let detail = match &err {
                E::No(text) if is_temporary_login_failure(text) => {
                    format!(
                        "the server could not check the login now: {}",
                        server_words(text)
                    )
                }
                E::No(text) | E::Bad(text) => {
                    format!("the server refused the login: {}", server_words(text))
                }
                other => other.to_string(),
            };
            Err(ImapError::new(
                kind,
                format!("login as {}", server.username),
                detail,
            ))
        }
    }
}

/// async-imap 0.12 renders a tagged NO/BAD as `code: {code:?}, info: {info:?}` (the Debug form
/// of its parts, seen with Dovecot 2.3.19, 2025-11); keep only the server's own words, e.g.
/// `[AUTHENTICATIONFAILED] Authentication failed.`, or the rendering when it looks different.
fn server_words(rendered: &str) -> String {
    const INFO: &str = "info: Some(";
    let Some(quoted) = rendered
        .find(INFO)
        .and_then(|at| rendered[at + INFO.len()..].strip_suffix(')'))
    else {
        return rendered.to_owned();
    };
    // A Debug-quoted str; JSON unquoting covers it except for Rust's `\u{..}` escapes.
    serde_json::from_str::<String>(quoted).unwrap_or_else(|_| quoted.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::server_words;

    #[test]
    fn server_words_keep_only_what_the_server_said() {
        let cases = [
            (
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#,
                "[AUTHENTICATIONFAILED] Authentication failed.",
            ),
            (
                r#"code: Some(Alert), info: Some("say \"no\" \\ here")"#,
                r#"say "no" \ here"#,
            ),
            (r#"code: None, info: Some("caf\u{e9}")"#, r"caf\u{e9}"),
            ("code: None, info: None", "code: None, info: None"),
            ("something else entirely", "something else entirely"),
            ("", ""),
        ];
        for (rendered, expected) in cases {
            assert_eq!(server_words(rendered), expected, "{rendered}");
        }
    }
}

/// A NO to LOGIN/AUTHENTICATE that says "try again later", not "wrong credentials" (RFC 5530).
fn is_temporary_login_failure(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    [
        "[UNAVAILABLE]",
        "[SERVERBUG]",
        "[INUSE]",
        "TEMPORARY AUTHENTICATION FAILURE",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
}

#[cfg(test)]
mod temporary_login_tests {
    use super::is_temporary_login_failure;

    #[test]
    fn unavailable_is_temporary_and_authenticationfailed_is_not() {
        assert!(is_temporary_login_failure(
            "[UNAVAILABLE] Temporary authentication failure. [vm:2026-11-26 02:56:56]"
        ));
        assert!(is_temporary_login_failure(
            "[SERVERBUG] Internal error occurred."
        ));
        assert!(!is_temporary_login_failure(
            "[AUTHENTICATIONFAILED] Authentication failed."
        ));
        assert!(!is_temporary_login_failure("Login failed."));
    }
}
