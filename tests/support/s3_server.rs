//! An S3-compatible server (s3s-fs) on 127.0.0.1 that checks every
//! request's SigV4 signature, serving a folder (one sub-folder per bucket).
//! Shared by the integration tests (in process) and the benchmark (as the
//! `s3_server` binary of `bench/tools/`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// A running server; dropping it stops it.
pub struct S3Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request served, as `METHOD /path?query`, oldest first.
    log: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Serves `root` with one key pair, on a free port (or `port`).
    pub fn start(root: PathBuf, key: &str, secret: &str, port: u16) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (key, secret) = (key.to_string(), secret.to_string());
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let heard = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime for the S3 server");
            rt.block_on(async move {
                let fs = s3s_fs::FileSystem::new(&root).expect("the S3 server's root folder");
                let mut b = S3ServiceBuilder::new(fs);
                b.set_auth(SimpleAuth::from_single(key, secret));
                let s3 = b.build();
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let line = match req.uri().query() {
                        Some(q) => format!("{} {}?{q}", req.method(), req.uri().path()),
                        None => format!("{} {}", req.method(), req.uri().path()),
                    };
                    if let Ok(mut log) = heard.lock() {
                        log.push(line);
                    }
                    hyper::service::Service::call(&s3, req)
                });
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("a port on 127.0.0.1");
                addr_tx.send(listener.local_addr().expect("a bound address")).ok();
                let http = ConnBuilder::new(TokioExecutor::new());
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((socket, _)) = accepted else { continue };
                            let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                            tokio::spawn(async move {
                                let _ = conn.await;
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
        });
        let addr = addr_rx.recv().expect("the S3 server started");
        S3Server {
            addr,
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The requests served since the last call, as `METHOD /path?query`.
    #[allow(dead_code, reason = "the benchmark's server does not count")]
    pub fn take_requests(&self) -> Vec<String> {
        self.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
