//! A real SMTP server for the tests (tests/support/smtp_server.py on Debian's
//! python3-aiosmtpd): implicit TLS with a certificate from a CA made here, AUTH.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub const USER: &str = "backup@example.com";
pub const PASSWORD: &str = "abcd efgh ijkl mnop";

pub struct SmtpServer {
    pub port: u16,
    /// The CA that signed the server's certificate (for `smtp.ca_file`).
    pub ca_file: PathBuf,
    /// Where accepted messages land: `N.eml` and `N.rcpt`.
    pub maildir: PathBuf,
    child: Child,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA in `dir` (`NAME.crt`, `NAME.key`) and a certificate for 127.0.0.1 signed by it
/// (`NAME-server.crt`, `NAME-server.key`).
pub fn make_ca(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    let (ca_key, ca_crt) = (format!("{name}.key"), format!("{name}.crt"));
    let (key, csr, crt) = (
        format!("{name}-server.key"),
        format!("{name}-server.csr"),
        format!("{name}-server.crt"),
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-keyout",
            &ca_key,
            "-out",
            &ca_crt,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            &crt,
        ],
    );
}

impl SmtpServer {
    /// Starts a server in `dir` whose certificate comes from a CA made there.
    pub fn start(dir: &Path) -> SmtpServer {
        make_ca(dir, "ca");
        let port = super::free_port();
        let maildir = dir.join("mail");
        // Debian's python, which sees python3-aiosmtpd (a pyenv python on PATH would not).
        let child = super::helper_server::start_until_ready(
            Command::new("/usr/bin/python3")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py"))
                .arg(port.to_string())
                .arg(dir.join("ca-server.crt"))
                .arg(dir.join("ca-server.key"))
                .args([USER, PASSWORD])
                .arg(&maildir),
            &dir.join("smtp.log"),
            "SMTP",
            "/usr/bin/python3 runs (apt-get install python3-aiosmtpd)",
        );
        SmtpServer {
            port,
            ca_file: dir.join("ca.crt"),
            maildir,
            child,
        }
    }

    /// The config lines that point backup-server at this server.
    pub fn config_lines(&self) -> String {
        format!(
            "smtp: {{host: 127.0.0.1, port: {}, ca_file: {}, timeout_secs: 10}}\n",
            self.port,
            self.ca_file.display()
        )
    }

    /// The messages received so far, oldest first: (raw message, envelope recipients).
    pub fn received(&self) -> Vec<(String, Vec<String>)> {
        let mut found = Vec::new();
        for n in 1.. {
            let Ok(eml) = fs::read_to_string(self.maildir.join(format!("{n}.eml"))) else {
                break;
            };
            let rcpt = fs::read_to_string(self.maildir.join(format!("{n}.rcpt"))).unwrap();
            found.push((eml, rcpt.lines().map(str::to_string).collect()));
        }
        found
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
