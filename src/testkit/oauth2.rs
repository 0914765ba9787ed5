//! The stack's optional OAuth2 mode: Dovecot's `oauth2` passdb validating HS256 JWTs locally
//! (no token endpoint, nothing off the machine), and the tokens that match it.
//!
//! Dovecot 2.3.19 (`introspection_mode = local`) looks the HMAC key up in a dict under
//! `shared/<azp or "default">/<alg>/<kid or "default">`; with `fs:posix:prefix=DIR/` that is the
//! file `DIR/default/HS256/default`, holding the key in base64. It checks `exp` (and `nbf`,
//! `iat` when present), requires `sub`, and, because `client_id` is set, requires `aud` to
//! contain it. The user name is taken from `username_attribute = sub` and must equal the
//! `user=` of the XOAUTH2 request. A stack is in OAuth2 mode when its directory holds
//! `dovecot/oauth2.conf.ext`: the setting then survives Dovecot restarts and `attach`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The `aud` every accepted token must carry (`client_id` of the passdb).
pub const CLIENT_ID: &str = "candor-tests";

/// What a test token claims. `exp` is unix seconds; a past value makes an expired token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    pub sub: String,
    pub aud: String,
    pub exp: i64,
}

impl Claims {
    /// Claims Dovecot accepts for `username` until `expires_at`.
    pub fn for_user(username: &str, expires_at: jiff::Timestamp) -> Claims {
        Claims {
            sub: username.to_owned(),
            aud: CLIENT_ID.to_owned(),
            exp: expires_at.as_second(),
        }
    }
}

fn conf_ext(dir: &Path) -> PathBuf {
    dir.join("dovecot/oauth2.conf.ext")
}

fn key_file(dir: &Path) -> PathBuf {
    dir.join("dovecot/oauth2.key")
}

fn key_dict_dir(dir: &Path) -> PathBuf {
    dir.join("dovecot/oauth2-keys")
}

/// Whether the stack in `dir` accepts XOAUTH2/OAUTHBEARER.
pub fn is_enabled(dir: &Path) -> bool {
    conf_ext(dir).is_file()
}

/// Writes a fresh signing key and the passdb configuration into the stack directory `dir`
/// (before Dovecot starts, or followed by a restart).
pub fn enable(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let key: String = rand::Rng::sample_iter(rand::rng(), rand::distr::Alphanumeric)
        .take(43)
        .map(char::from)
        .collect();
    // Test-only key: the auth process runs as `dovecot`, so the dict file must be readable by
    // it; 0644 is fine for a throwaway stack. Every directory on the path must be 0755.
    let hs256 = super::process::dir_0755(key_dict_dir(dir).join("default/HS256"))?;
    for sub in ["", "default"] {
        let path = key_dict_dir(dir).join(sub);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", path.display()))?;
    }
    let dict_entry = hs256.join("default");
    std::fs::write(&dict_entry, STANDARD.encode(key.as_bytes()))
        .with_context(|| format!("writing {}", dict_entry.display()))?;
    std::fs::set_permissions(&dict_entry, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("chmod {}", dict_entry.display()))?;
    std::fs::write(key_file(dir), &key).context("writing the OAuth2 signing key")?;
    std::fs::set_permissions(key_file(dir), std::fs::Permissions::from_mode(0o600))
        .context("chmod the OAuth2 signing key")?;
    let conf = format!(
        "# Written by candor's testkit: local JWT validation, no token endpoint.\n\
         introspection_mode = local\n\
         local_validation_key_dict = fs:posix:prefix={}/\n\
         username_attribute = sub\n\
         client_id = {CLIENT_ID}\n",
        key_dict_dir(dir).display()
    );
    std::fs::write(conf_ext(dir), conf).context("writing oauth2.conf.ext")
}

/// The `dovecot.conf` lines of the OAuth2 mode, or `None` when the stack is not in it. The
/// password passdb is limited to PLAIN and LOGIN so that a token is never compared with a
/// password, and the `oauth2` passdb serves only the two token mechanisms.
pub fn dovecot_fragment(dir: &Path) -> Option<String> {
    if !is_enabled(dir) {
        return None;
    }
    Some(format!(
        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n\
         # Says in the log why a token was refused (expired, wrong audience, bad signature).\n\
         auth_verbose = yes\n",
        conf_ext(dir).display()
    ))
}

/// A token for `claims` signed with the stack's key (in `dir`).
pub fn token(dir: &Path, claims: &Claims) -> anyhow::Result<String> {
    if !is_enabled(dir) {
        bail!(
            "the stack in {} is not in OAuth2 mode (start it with MailStack::start_with_oauth2)",
            dir.display()
        );
    }
    let key = std::fs::read(key_file(dir)).context("reading the OAuth2 signing key")?;
    Ok(sign(&key, claims))
}

/// An HS256 JWT over `claims` with `key` (any key: a wrong one makes a forged token).
pub fn sign(key: &[u8], claims: &Claims) -> String {
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
    // Serializing the struct cannot fail (strings and an integer); an empty body would only
    // make Dovecot refuse the token.
    let body = serde_json::to_string(claims).unwrap_or_default();
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string().as_bytes()),
        URL_SAFE_NO_PAD.encode(body.as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_has_three_parts_and_the_claims() {
        let token = sign(
            b"k",
            &Claims {
                sub: "jane@agency.example".into(),
                aud: CLIENT_ID.into(),
                exp: 2_000_000_000,
            },
        );
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        assert!(!token.contains(['=', '+', '/']), "{token}");
        assert_eq!(
            parts[1],
            URL_SAFE_NO_PAD
                .encode(br#"{"sub":"jane@agency.example","aud":"candor-tests","exp":2000000000}"#)
        );
    }
}
