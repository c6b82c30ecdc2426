//! A ping service's view of a run, for the demo: a tiny HTTP listener on 127.0.0.1.
//!
//! The demo has no network, yet it should show what healthchecks.io and ntfy would
//! receive each night. So it points both at this listener, which answers every request
//! with `200 OK` and keeps what it received (method, path, the headers that matter, the
//! body), to be printed beside the demo's other results.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as the service received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The headers a ping service reads (`Title`, `Priority`, `Tags`, `Content-Type`).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request in one line: `POST /ping/x/fail  <the body's first line>`, or for an
    /// ntfy message its title, priority and tags.
    pub fn summary(&self) -> String {
        let what = match self.header("title") {
            Some(title) => format!(
                "ntfy message {title:?}, priority {}, tags {}",
                self.header("priority").unwrap_or("-"),
                self.header("tags").unwrap_or("-")
            ),
            None => self.body.lines().next().unwrap_or_default().to_string(),
        };
        format!("{} {:<24} {what}", self.method, self.path)
    }
}

/// A listener on 127.0.0.1 that records every request until the process ends.
pub struct Recorder {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

const SHOWN_HEADERS: [&str; 4] = ["title", "priority", "tags", "content-type"];

impl Recorder {
    pub fn start() -> io::Result<Recorder> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&received);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                // Kept before it is answered: whoever got the answer finds it here.
                if let Ok(request) = read(&stream) {
                    keep.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nOK\n",
                    );
                }
            }
        });
        Ok(Recorder { port, received })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Reads one request from `stream`.
fn read(stream: &TcpStream) -> io::Result<Received> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            if SHOWN_HEADERS.contains(&name.as_str()) {
                headers.push((name, value));
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    Ok(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::http::{Http, Method, Request};

    #[test]
    fn it_answers_and_keeps_what_it_received() {
        let recorder = Recorder::start().unwrap();
        let http = Http::new(std::time::Duration::from_secs(5), None).unwrap();
        let sent = http.send(
            &Request {
                method: Method::Post,
                url: format!("{}/ping/abc/start", recorder.base_url()),
                headers: vec![("Title".into(), "Backup started".into())],
                body: b"run 1 started".to_vec(),
            },
            "test ping",
        );
        assert!(sent.delivered, "{sent:?}");
        assert_eq!((sent.message.as_str(), sent.attempts), ("HTTP 200", 1));
        let received = recorder.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].method, "POST");
        assert_eq!(received[0].path, "/ping/abc/start");
        assert_eq!(received[0].body, "run 1 started");
        assert!(
            received[0]
                .headers
                .contains(&("title".into(), "Backup started".into()))
        );
    }
}
