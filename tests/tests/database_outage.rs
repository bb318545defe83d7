//! The database going away mid-run, without touching the shared PostgreSQL cluster: a small
//! TCP proxy sits between the spawned `seguimiento serve` and PostgreSQL; cutting it drops
//! every connection and refuses new ones. Requests must fail with a clear, typed error
//! (INTERNAL) in bounded time, never hang or panic; /healthz says unhealthy; after the proxy
//! is restored the server recovers by itself and the live projection resumes from its
//! checkpoint (a mutation made after recovery shows up in the compliance query).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seguimiento_app::{App, Role};
use seguimiento_system_tests::*;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy that can be cut (drop every connection, refuse new ones) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound); // refused: closed at once
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            up,
            conns,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// `host:port` of a PostgreSQL URL, and the URL with that replaced by `127.0.0.1:<port>`.
fn via_proxy(url: &str, port: u16) -> (String, String) {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    let proxied = format!(
        "{}{userinfo}127.0.0.1:{port}{}",
        &url[..scheme_end],
        &rest[authority_end..]
    );
    (hostport, proxied)
}

const COMPLIANCE: &str =
    "{ compliance(scope: COMMITMENT_ACTIONS) { rows { key compliancePct } total { compliancePct } } }";

fn progress_input(progress: &str) -> Value {
    json!({"number": 1, "actionId": ACTION_SIDUR, "progress": progress})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_fails_clearly_while_postgresql_is_unreachable_and_recovers_by_itself() {
    let Some(db) = Db::new(Backend::Postgres).await else {
        return;
    };
    let admin = App::from_store(db.store().clone())
        .tokens()
        .create(Role::Admin, None, "admin@test")
        .await
        .unwrap()
        .secret;
    let (upstream, _) = via_proxy(&db.url, 0);
    let proxy = Proxy::start(upstream).await;
    let (_, proxied_url) = via_proxy(&db.url, proxy.port);
    let mut server = Spawned::serve(&proxied_url, &[], &[]);
    let http = http_client();
    let base = server.base.clone();
    let gql = |q: &'static str, vars: Value| {
        let (http, base, admin) = (http.clone(), base.clone(), admin.clone());
        async move { gql_at(&http, &base, Some(&admin), q, vars).await }
    };
    let report_progress = mutation("reportActionProgress");
    let report_progress: &'static str = Box::leak(report_progress.into_boxed_str());

    // Some data through the proxy.
    for (name, input) in [
        (
            "registerAgency",
            json!({"acronym": "SIDUR", "name": "Secretaría de Infraestructura y Desarrollo Urbano", "sectorHead": null}),
        ),
        (
            "registerCommitment",
            json!({"number": 1, "text": "Acueducto"}),
        ),
        (
            "assignCommitment",
            json!({"number": 1, "agencies": ["SIDUR"]}),
        ),
        (
            "registerAction",
            json!({"number": 1, "actionId": ACTION_SIDUR, "agency": "SIDUR",
            "description": "Licitación", "status": "IN_PROGRESS", "progress": "10",
            "investmentMxn": "100", "date": "2023-05-02"}),
        ),
    ] {
        let q: &'static str = Box::leak(mutation(name).into_boxed_str());
        let (status, body) = gql(q, json!({"input": input})).await;
        assert!(body.get("errors").is_none(), "{name}: HTTP {status} {body}");
    }
    let (_, body) = gql(COMPLIANCE, json!({})).await;
    assert_eq!(
        body["data"]["compliance"]["total"]["compliancePct"], "10.00",
        "{body}"
    );
    let names = seguimiento_projections::registry::names();
    wait_caught_up(db.store(), Duration::from_secs(30)).await;
    let before = seguimiento_projections::status_of(db.store(), &names)
        .await
        .unwrap();

    // Cut the database off.
    proxy.cut();
    let started = Instant::now();
    let (status, health) = get_text(&http, &format!("{base}/healthz")).await;
    let took = started.elapsed();
    println!("healthz while the database is gone: HTTP {status} in {took:?}");
    assert!(took < Duration::from_secs(40), "healthz hung for {took:?}");
    assert_eq!(status, 503, "healthz while the database is gone: {health}");
    // A live read-model answer may be served from the server's cache for up to the
    // documented 100 ms re-check interval of a projection's checkpoint (README, "What the
    // server caches"); past it, a read must fail clearly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (what, q, vars) in [
        ("query", COMPLIANCE, json!({})),
        (
            "mutation",
            report_progress,
            json!({"input": progress_input("20")}),
        ),
    ] {
        let started = Instant::now();
        let (status, body) = gql(q, vars).await;
        let took = started.elapsed();
        println!("{what} while the database is gone: HTTP {status} in {took:?}: {body}");
        assert!(took < Duration::from_secs(40), "{what} hung for {took:?}");
        assert!(
            body.get("data").is_none_or(|d| d.is_null()
                || d.as_object()
                    .is_some_and(|o| o.values().all(Value::is_null))),
            "{what} succeeded without a database: {body}"
        );
        let c = code(&body);
        assert!(
            matches!(c.as_deref(), Some("INTERNAL") | Some("UNAVAILABLE")),
            "{what} failed without a typed error: HTTP {status} {body}"
        );
        assert!(
            !body.to_string().to_lowercase().contains("sqlx")
                && !body.to_string().contains("127.0.0.1"),
            "{what} leaks internals: {body}"
        );
    }
    assert!(
        server.proc.alive(),
        "the server died while the database was gone"
    );

    // Restore: the server recovers on its own.
    proxy.restore();
    let restored = Instant::now();
    let started = Instant::now();
    loop {
        let (status, _) = get_text(&http, &format!("{base}/healthz")).await;
        if status == 200 {
            println!(
                "healthz OK {:?} after the proxy came back",
                restored.elapsed()
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "healthz never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    loop {
        let (status, body) = gql(report_progress, json!({"input": progress_input("70")})).await;
        if body.get("errors").is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mutations never recovered: HTTP {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The live projection resumes (same generation, from its checkpoint) and shows it.
    let started = Instant::now();
    loop {
        let (_, body) = gql(COMPLIANCE, json!({})).await;
        if body["data"]["compliance"]["total"]["compliancePct"] == "70.00" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the live projection never showed the mutation made after recovery: {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!(
        "recovered {:?} after the proxy came back",
        restored.elapsed()
    );
    let after = seguimiento_projections::status_of(db.store(), &names)
        .await
        .unwrap();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            b.generation, a.generation,
            "{} was rebuilt instead of resumed",
            b.name
        );
        assert!(a.checkpoint >= b.checkpoint);
    }
    assert!(server.proc.alive());
    server.proc.kill9();
    let stderr = server.proc.stderr.text();
    assert!(
        !stderr.contains("panicked"),
        "the server panicked:\n{stderr}"
    );
    // The failed mutation during the outage stored nothing; the log is intact.
    let rows = event_rows(db.store()).await;
    let progress_events = rows
        .iter()
        .filter(|r| r.event_type.contains("Progress"))
        .count();
    assert_eq!(
        progress_events, 1,
        "exactly the one post-recovery progress report"
    );
    let out = run_cli(&["verify", "--db", &db.url], Duration::from_secs(60));
    expect_success("verify", &out);
    drop(proxy);
    db.cleanup().await;
}
