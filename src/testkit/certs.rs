//! A throwaway CA and a `CA:FALSE` leaf for `localhost` and `127.0.0.1`, made with `openssl`.
//!
//! rustls refuses a `CA:TRUE` certificate as a server certificate (`CaUsedAsEndEntity`) even when
//! it is trusted, hence the two-level chain. EC P-256 keys keep generation in the milliseconds.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Writes `ca.pem`, `ca.key`, `leaf.pem` and `leaf.key` into `tls_dir` (which must exist).
pub fn make_certificates(tls_dir: &Path) -> anyhow::Result<()> {
    let path = |name: &str| tls_dir.join(name).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                &path("ca.key"),
                "-out",
                &path("ca.pem"),
                "-days",
                "3650",
            ],
            &["-subj", "/CN=candor throwaway test CA"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-keyout", &path("leaf.key"), "-out", &path("leaf.csr")],
            &["-subj", "/CN=localhost"],
        ]
        .concat(),
    )?;
    std::fs::write(
        tls_dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .context("writing leaf.ext")?;
    // A random serial: two stacks' leaves must never look like the same certificate.
    let serial = format!("0x{:016x}", rand::random::<u64>());
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("leaf.csr"),
        "-CA",
        &path("ca.pem"),
        "-CAkey",
        &path("ca.key"),
        "-set_serial",
        &serial,
        "-days",
        "3650",
        "-extfile",
        &path("leaf.ext"),
        "-out",
        &path("leaf.pem"),
    ])?;
    Ok(())
}

fn openssl(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running openssl (is it installed? see scripts/install-mailstack.sh)")?;
    if !output.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
