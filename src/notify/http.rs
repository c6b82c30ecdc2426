//! Getting a ping to its service, or saying in words why it did not get there.
//!
//! Every request is bounded (`notify.timeout_secs` for connecting and for the whole
//! exchange) and tried at most three times, 1 s and 3 s apart, as the email report is:
//! again only when trying again can help (no answer in time, no connection, a 5xx), not
//! when the service said no (a 4xx), which it would say again. Certificates are always
//! verified, against Mozilla's roots plus `notify.ca_file`. No message here ever quotes
//! a URL: ping URLs hold secrets, so a service is named by its scheme and host only.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::redact;

/// Pauses between attempts (three attempts in all), as for the email report.
pub const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

/// One HTTP request a channel wants made.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// How a request went, after its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The service answered 2xx.
    pub delivered: bool,
    /// The answer (`HTTP 200`) or why there was none, naming the service by host.
    pub message: String,
    pub attempts: u32,
}

/// Why the HTTP client could not be set up, or (for `doctor`) a URL could not be
/// reached. `service` is the URL redacted to its host, never the URL itself; the
/// `Display` is the message a person reads, in a ping's record or in `doctor`.
#[derive(Debug)]
pub enum HttpError {
    /// No client was set up: the config has no channel to ping.
    NotNeeded,
    CaFileUnreadable(io::Error),
    /// `notify.ca_file` holds a certificate rustls refuses.
    CaFileCertificate {
        path: PathBuf,
        error: rustls::Error,
    },
    CaFileEmpty(PathBuf),
    /// rustls refused its own default protocol versions.
    Tls(rustls::Error),
    InvalidUrl,
    Resolve {
        service: String,
        error: io::Error,
    },
    ConnectTimeout {
        service: String,
        secs: u64,
    },
    Connect {
        service: String,
        error: io::Error,
    },
    NoAddress {
        service: String,
    },
    NotATlsName {
        service: String,
    },
    TlsStart {
        service: String,
        error: rustls::Error,
    },
    TlsTimeout {
        service: String,
        secs: u64,
    },
    TlsFailed {
        service: String,
        error: io::Error,
    },
    /// A request got no answer that counts, in the words of `explain`.
    Unanswered(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::NotNeeded => f.write_str("no channel"),
            HttpError::CaFileUnreadable(e) => write!(f, "cannot read notify.ca_file: {e}"),
            HttpError::CaFileCertificate { path, error } => {
                write!(f, "notify.ca_file {}: {error}", path.display())
            }
            HttpError::CaFileEmpty(path) => write!(
                f,
                "notify.ca_file {} holds no PEM certificate",
                path.display()
            ),
            HttpError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
            HttpError::InvalidUrl => f.write_str("the URL is not valid"),
            HttpError::Resolve { service, error } => {
                write!(f, "cannot resolve the host of {service}: {error}")
            }
            HttpError::ConnectTimeout { service, secs } => write!(
                f,
                "{service} did not answer within {secs} s (notify.timeout_secs)"
            ),
            HttpError::Connect { service, error } => {
                write!(f, "cannot connect to {service}: {}", io_words(error))
            }
            HttpError::NoAddress { service } => {
                write!(f, "the host of {service} has no address")
            }
            HttpError::NotATlsName { service } => {
                write!(f, "{service}: the host is not a valid name for TLS")
            }
            HttpError::TlsStart { service, error } => {
                write!(f, "cannot start TLS with {service}: {error}")
            }
            HttpError::TlsTimeout { service, secs } => write!(
                f,
                "{service} did not complete TLS within {secs} s (notify.timeout_secs)"
            ),
            HttpError::TlsFailed { service, error } => write!(
                f,
                "TLS with {service} failed: {} (is the certificate trusted? see notify.ca_file)",
                io_words(error)
            ),
            HttpError::Unanswered(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for HttpError {}

/// The HTTP client of the pings and of `doctor`'s checks.
pub struct Http {
    agent: ureq::Agent,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

/// Why an attempt got no answer that counts.
enum Failure {
    /// Worth another try: a timeout, no connection, a 5xx.
    Transient(String),
    /// Not worth another: a 4xx, a TLS certificate that is not trusted, a bad URL.
    Final(String),
}

impl Http {
    /// A client whose every attempt is bounded by `timeout`, trusting Mozilla's roots
    /// and the PEM certificates of `ca_file`.
    pub fn new(timeout: Duration, ca_file: Option<&Path>) -> Result<Http, HttpError> {
        let mut roots: Vec<ureq::tls::Certificate<'static>> = Vec::new();
        let mut store = rustls::RootCertStore::empty();
        store.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        if let Some(ca_file) = ca_file {
            let pem = fs_err::read(ca_file).map_err(HttpError::CaFileUnreadable)?;
            let mut found = 0;
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(ureq::tls::PemItem::Certificate(cert)) = item {
                    store
                        .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
                        .map_err(|error| HttpError::CaFileCertificate {
                            path: ca_file.to_path_buf(),
                            error,
                        })?;
                    roots.push(cert);
                    found += 1;
                }
            }
            if found == 0 {
                return Err(HttpError::CaFileEmpty(ca_file.to_path_buf()));
            }
        }
        let root_certs = if roots.is_empty() {
            ureq::tls::RootCerts::WebPki
        } else {
            // ureq takes one list of roots: Mozilla's, and the administrator's.
            roots.extend(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned()),
            );
            ureq::tls::RootCerts::new_with_certs(&roots)
        };
        let tls_config = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(root_certs)
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .http_status_as_error(false)
            // A redirect would turn a POST into a GET and lose its body: say so instead.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .user_agent(concat!("backup-server/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls_config)
            .build();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(HttpError::Tls)?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Http {
            agent: config.into(),
            tls: Arc::new(tls),
            timeout,
        })
    }

    /// Makes `request` (`label` names it in the journal), trying again after a
    /// transient failure.
    pub fn send(&self, request: &Request, label: &str) -> Sent {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(request) {
                Ok(status) => {
                    return Sent {
                        delivered: true,
                        message: format!("HTTP {status}"),
                        attempts,
                    };
                }
                Err(Failure::Transient(why)) if (attempts as usize) <= BACKOFF.len() => {
                    let pause = BACKOFF[attempts as usize - 1];
                    crate::journal::warn(&format!(
                        "{label}: {why}; trying again in {} s",
                        pause.as_secs()
                    ));
                    std::thread::sleep(pause);
                }
                Err(Failure::Transient(why)) | Err(Failure::Final(why)) => {
                    return Sent {
                        delivered: false,
                        message: why,
                        attempts,
                    };
                }
            }
        }
    }

    /// One attempt: the 2xx status, or why not.
    fn attempt(&self, request: &Request) -> Result<u16, Failure> {
        let service = redact(&request.url);
        let result = match request.method {
            Method::Get => {
                let mut builder = self.agent.get(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.call()
            }
            Method::Post => {
                let mut builder = self.agent.post(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.send(&request.body[..])
            }
        };
        let mut response = result.map_err(|e| explain(&service, &e))?;
        let status = response.status().as_u16();
        // Read (a little of) the answer, so the connection can be reused.
        let _ = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec();
        match status {
            200..=299 => Ok(status),
            300..=399 => Err(Failure::Final(format!(
                "{service} answered HTTP {status} (a redirect): give the URL it redirects to"
            ))),
            401 | 403 => Err(Failure::Final(format!(
                "{service} answered HTTP {status}: the token or credentials were refused"
            ))),
            400..=499 => Err(Failure::Final(format!(
                "{service} answered HTTP {status}: is the URL right?"
            ))),
            _ => Err(Failure::Transient(format!(
                "{service} answered HTTP {status}"
            ))),
        }
    }

    /// The status of a GET of `url` with `headers` (one attempt): for `doctor`, which
    /// reads without sending.
    pub fn get_status(&self, url: &str, headers: &[(String, String)]) -> Result<u16, HttpError> {
        let service = redact(url);
        let mut builder = self.agent.get(url);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.call().map_err(|e| match explain(&service, &e) {
            Failure::Transient(why) | Failure::Final(why) => HttpError::Unanswered(why),
        })?;
        let _ = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec();
        Ok(response.status().as_u16())
    }

    /// Resolves `url`'s host, connects and (for https) completes a verified TLS
    /// handshake, sending no HTTP request: a request to a healthchecks URL counts as a
    /// ping. Returns what was reached, in words.
    pub fn reach(&self, url: &str) -> Result<String, HttpError> {
        let service = redact(url);
        let (tls, host, port) = authority(url).ok_or(HttpError::InvalidUrl)?;
        let started = Instant::now();
        let addrs: Vec<_> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|error| HttpError::Resolve {
                service: service.clone(),
                error,
            })?
            .collect();
        let mut last = None;
        let mut stream = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(mut stream) = stream else {
            return Err(match last {
                Some(e) if is_timeout(&e) => HttpError::ConnectTimeout {
                    service,
                    secs: self.timeout.as_secs(),
                },
                Some(error) => HttpError::Connect { service, error },
                None => HttpError::NoAddress { service },
            });
        };
        if !tls {
            return Ok(format!(
                "{service} accepts connections (plain HTTP, no TLS)"
            ));
        }
        let remaining = self
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100));
        let _ = stream.set_read_timeout(Some(remaining));
        let _ = stream.set_write_timeout(Some(remaining));
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| {
            HttpError::NotATlsName {
                service: service.clone(),
            }
        })?;
        let mut conn = rustls::ClientConnection::new(self.tls.clone(), name).map_err(|error| {
            HttpError::TlsStart {
                service: service.clone(),
                error,
            }
        })?;
        while conn.is_handshaking() {
            if let Err(error) = conn.complete_io(&mut stream) {
                return Err(if is_timeout(&error) {
                    HttpError::TlsTimeout {
                        service,
                        secs: self.timeout.as_secs(),
                    }
                } else {
                    HttpError::TlsFailed { service, error }
                });
            }
        }
        conn.send_close_notify();
        let _ = conn.complete_io(&mut stream);
        Ok(format!("{service} answers with a trusted TLS certificate"))
    }
}

/// `(https?, host, port)` of an http(s) URL.
fn authority(url: &str) -> Option<(bool, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if tls => 443,
        None => 80,
    };
    (!host.is_empty()).then(|| (tls, host.to_string(), port))
}

/// ureq's error in words, naming the service and never the URL.
fn explain(service: &str, e: &ureq::Error) -> Failure {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => Failure::Transient(format!(
            "{service} did not answer in time (notify.timeout_secs)"
        )),
        E::HostNotFound => Failure::Transient(format!("cannot resolve the host of {service}")),
        E::ConnectionFailed => Failure::Transient(format!("cannot connect to {service}")),
        E::Io(io) if is_timeout(io) => Failure::Transient(format!(
            "{service} did not answer in time (notify.timeout_secs)"
        )),
        E::Io(io) if io.kind() == io::ErrorKind::InvalidData && is_tls(io) => {
            Failure::Final(format!(
                "TLS with {service} failed: {} (is the certificate trusted? see notify.ca_file)",
                io_words(io)
            ))
        }
        E::Io(io) if io.kind() == io::ErrorKind::ConnectionRefused => {
            Failure::Transient(format!("cannot connect to {service}: connection refused"))
        }
        E::Io(io) => Failure::Transient(format!("{service}: {}", io_words(io))),
        E::Rustls(tls) => Failure::Final(format!(
            "TLS with {service} failed: {tls} (is the certificate trusted? see notify.ca_file)"
        )),
        E::Tls(why) => Failure::Final(format!("TLS with {service} failed: {why}")),
        E::BadUri(_) | E::Http(_) => Failure::Final("the URL is not valid".to_string()),
        E::Protocol(p) => Failure::Transient(format!("{service} did not answer in HTTP: {p}")),
        E::StatusCode(status) => Failure::Transient(format!("{service} answered HTTP {status}")),
        other => Failure::Transient(format!("{service}: {}", kind_words(other))),
    }
}

/// ureq's other errors, in its own words (none of them holds a URL).
fn kind_words(e: &ureq::Error) -> String {
    match e {
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => "a redirect".into(),
        ureq::Error::BodyStalled => "the answer stalled".into(),
        _ => "the request failed".into(),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

fn is_tls(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

fn io_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "the connection was reset".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scheme_host_and_port() {
        assert_eq!(
            authority("https://hc-ping.com/uuid"),
            Some((true, "hc-ping.com".into(), 443))
        );
        assert_eq!(
            authority("http://user:pw@127.0.0.1:8080/t?x=1"),
            Some((false, "127.0.0.1".into(), 8080))
        );
        assert_eq!(
            authority("https://[::1]:9/x"),
            Some((true, "::1".into(), 9))
        );
        assert_eq!(authority("ftp://x/y"), None);
    }
}
