//! A webhook receiver on 127.0.0.1 for the alert tests: it records every
//! request (headers and body) and answers from a script of responses (200
//! once the script is used up). It can stop listening (connections are
//! refused) and listen again on the same port.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What was answered.
    pub status: u16,
    /// When it came.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Script = Arc<Mutex<VecDeque<(u16, Vec<(String, String)>)>>>;

pub struct Receiver {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    script: Script,
    stop: Arc<AtomicBool>,
    stop_after: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::on(0)
    }

    fn on(port: u16) -> Receiver {
        let mut r = Receiver {
            port,
            received: Arc::default(),
            script: Arc::default(),
            stop: Arc::default(),
            stop_after: Arc::new(AtomicUsize::new(usize::MAX)),
            thread: None,
        };
        r.listen();
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers the next requests with these statuses (and headers).
    pub fn answer(&self, responses: &[(u16, &[(&str, &str)])]) {
        let mut s = self.script.lock().unwrap();
        for (status, headers) in responses {
            s.push_back((
                *status,
                headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ));
        }
    }

    /// Stops listening by itself once `n` requests in all have come.
    pub fn stop_after(&self, n: usize) {
        self.stop_after.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Stops listening: connections are refused until [`Receiver::listen`].
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Listens (again) on the same port.
    pub fn listen(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        self.stop = Arc::new(AtomicBool::new(false));
        let (received, script, stop) = (self.received.clone(), self.script.clone(), self.stop.clone());
        let stop_after = self.stop_after.clone();
        self.stop_after.store(usize::MAX, Ordering::SeqCst);
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = serve(stream, &received, &script);
                        if received.lock().unwrap().len() >= stop_after.load(Ordering::SeqCst) {
                            // Dropping the listener: connections are refused.
                            return;
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, script: &Script) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (status, extra) = script.lock().unwrap().pop_front().unwrap_or((200, Vec::new()));
    received.lock().unwrap().push(Received {
        path,
        headers,
        body,
        status,
        at: std::time::Instant::now(),
    });
    let mut out = stream;
    let mut resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n");
    for (k, v) in extra {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    out.write_all(resp.as_bytes())?;
    out.flush()
}
