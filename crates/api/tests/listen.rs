//! The accept loop's limits over real sockets: an idle socket is closed at the header
//! deadline, connections beyond the limit wait for a free slot, and a shutdown does not
//! wait for idle clients.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use seguimiento_api::listen::{serve_with, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn app() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

async fn start(
    limits: ServeLimits,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_with(
        listener,
        app(),
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    (addr, stop, task)
}

/// One plain HTTP/1.1 GET of /healthz on a fresh connection; the status line.
async fn healthz(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_idle_socket_is_closed_at_the_header_deadline() {
    let (addr, stop, task) = start(ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await;
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    // The server ends the connection (a 408, EOF or a reset), well before this bound.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest))
        .await
        .expect("the server kept an idle socket open")
        .ok();
    // A socket that trickles half a header meets the same deadline.
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .expect("write");
    // The server answers 408 or just closes; either way the socket ends.
    rest.clear();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest))
        .await
        .expect("the server kept a trickling socket open")
        .ok();
    assert_eq!(healthz(&addr).await, "HTTP/1.1 200 OK");
    let _ = stop.send(());
    task.await.expect("join").expect("serve");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let (addr, stop, task) = start(ServeLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(60),
        ..ServeLimits::default()
    })
    .await;
    let first = TcpStream::connect(&addr).await.expect("connect");
    let second = TcpStream::connect(&addr).await.expect("connect");
    // Let the server accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = tokio::spawn({
        let addr = addr.clone();
        async move { healthz(&addr).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served beyond the limit"
    );
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("the freed slot was not given to the waiting client")
        .expect("join");
    assert_eq!(status, "HTTP/1.1 200 OK");
    drop(second);
    let _ = stop.send(());
    task.await.expect("join").expect("serve");
}

#[tokio::test]
async fn a_shutdown_does_not_wait_for_idle_clients() {
    let (addr, stop, task) = start(ServeLimits {
        header_read_timeout: Duration::from_secs(600),
        shutdown_grace: Duration::from_secs(2),
        ..ServeLimits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the shutdown waited for idle clients")
        .expect("join")
        .expect("serve");
}
