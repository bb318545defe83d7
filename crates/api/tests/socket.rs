//! Over a real socket: HTTP with reqwest, and a graphql-transport-ws subscription that
//! receives an event appended after it subscribed. Graceful shutdown at the end.

mod common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use common::{Backend, Server};

async fn http_and_websocket_subscription_over_a_real_socket(backend: Backend) {
    let Some(s) = Server::start(backend, Default::default()).await else {
        eprintln!("SKIPPED: TEST_DATABASE_URL not set");
        return;
    };
    let (addr, stop, server) = serve_on_loopback(&s).await;

    // Plain HTTP.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let body = post_as(&http, addr, &s.admin, "mutation { registerAgency(input: {acronym: \"SIDUR\", name: \"Infraestructura\"}) { version } }").await;
    assert_eq!(body["data"]["registerAgency"]["version"], 0, "{body}");
    let anon = http
        .post(format!("http://{addr}/graphql"))
        .json(&json!({"query": "{ agencies { acronym } }"}))
        .send()
        .await
        .expect("post");
    assert_eq!(anon.status().as_u16(), 401);

    // WebSocket subscription.
    let mut ws = ws_as(addr, &s.auditor).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { events(streamPrefix: \"agencies\") { type stream version actor } }"}})))
        .await
        .expect("subscribe");
    ws.send(send(json!({"id": "2", "type": "subscribe", "payload": {
        "query": "subscription { complianceChanged(scope: COMMITMENT_ACTIONS) { rows { key } } }"}})))
        .await
        .expect("subscribe");
    // Give the server a moment to start both streams, then write.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = post_as(
        &http,
        addr,
        &s.admin,
        "mutation { registerAgency(input: {acronym: \"CEA\", name: \"Agua\"}) { version } }",
    )
    .await;
    assert_eq!(body["data"]["registerAgency"]["version"], 1, "{body}");
    let mut got_event = false;
    let mut got_compliance = false;
    while !(got_event && got_compliance) {
        let msg = next_json(&mut ws).await;
        assert_eq!(msg["type"], "next", "{msg}");
        if msg["id"] == "1" {
            let ev = &msg["payload"]["data"]["events"];
            assert_eq!(ev["type"], "AgencyRegistered");
            assert_eq!(ev["version"], 1);
            assert_eq!(ev["actor"], "admin@test");
            got_event = true;
        } else {
            assert!(
                msg["payload"]["data"]["complianceChanged"]["rows"].is_array(),
                "{msg}"
            );
            got_compliance = true;
        }
    }
    // A client that lost its connection resumes after the last position it saw: every
    // later event comes, none is missed, without any new write.
    ws.send(send(json!({"id": "3", "type": "subscribe", "payload": {
        "query": "subscription { events(streamPrefix: \"agencies\", after: 0) { globalPosition version } }"}})))
        .await
        .expect("subscribe");
    let mut versions = Vec::new();
    while versions.len() < 2 {
        let msg = next_json(&mut ws).await;
        if msg["id"] == "3" {
            assert_eq!(msg["type"], "next", "{msg}");
            versions.push(msg["payload"]["data"]["events"]["version"].clone());
        }
    }
    assert_eq!(versions, vec![json!(0), json!(1)]);
    let _ = ws.close(None).await;

    // A WebSocket without a token is refused.
    let mut anon_ws = open_ws(addr).await;
    anon_ws
        .send(send(json!({"type": "connection_init", "payload": {}})))
        .await
        .expect("init");
    let refused = tokio::time::timeout(Duration::from_secs(5), anon_ws.next()).await;
    assert!(
        matches!(
            refused,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_)))
        ),
        "unauthenticated socket was not closed: {refused:?}"
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown in time")
        .expect("join")
        .expect("serve");
    s.cleanup().await;
}

/// Serves the test server's router on a loopback port: its address, the stop signal and
/// the serving task.
async fn serve_on_loopback(
    s: &Server,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(seguimiento_api::serve(
        listener,
        s.router.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, server)
}

/// POSTs `query` over the socket with `token`; the JSON body.
async fn post_as(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    token: &str,
    query: &str,
) -> Value {
    http.post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

/// A graphql-transport-ws socket to `addr`, before `connection_init`.
async fn open_ws(
    addr: std::net::SocketAddr,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("ws request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect");
    ws
}

/// A graphql-transport-ws socket to `addr`, initialised with `token` and acknowledged.
async fn ws_as(
    addr: std::net::SocketAddr,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut ws = open_ws(addr).await;
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .expect("init");
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("open socket")
            .expect("message");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json message"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

seguimiento_eventstore::on_both_backends!(Backend: http_and_websocket_subscription_over_a_real_socket);

/// A token revoked while its socket is open: the subscription stops streaming and the
/// socket is closed with 4401, within the token check interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_closes_its_open_socket() {
    let Some(s) = Server::start(Backend::Sqlite, Default::default()).await else {
        return;
    };
    let (addr, stop, server) = serve_on_loopback(&s).await;
    let mut ws = ws_as(addr, &s.auditor).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { events { type } }"}})))
        .await
        .expect("subscribe");
    let tokens = s.app.tokens();
    let auditor = tokens
        .list()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.subject == "auditor@test")
        .expect("the auditor's token");
    assert!(tokens.revoke(&auditor.id).await.expect("revoke"));
    let closed = loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("the socket of a revoked token was not closed");
        match msg {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(
        closed.map(|f| u16::from(f.code)),
        Some(4401),
        "closed with another code"
    );
    let _ = stop.send(());
    let _ = server.await;
}
