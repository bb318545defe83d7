//! `serve`: the GraphQL server with the live projection runner, and the `--demo` loader.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use seguimiento_api::ApiConfig;
use seguimiento_app::{App, ImportLine, Principal, Role};
use seguimiento_projections::LiveRunner;

use crate::cli::ServeArgs;
use crate::util::{self, describe};

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Ctrl-C is handled from the start (see `util::interrupted`).
    let interrupted = util::interrupted()?;
    // Bind first: a busy port fails before any work is done.
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let app = util::open(&args.db).await?;
    let mut demo_token = None;
    if args.demo {
        load_demo(&app).await?;
        let token = app
            .tokens()
            .create(Role::Admin, None, "demo-admin")
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the demo token: {}", describe(&e)))?;
        demo_token = Some(token.secret);
    }
    let runner = Arc::new(
        LiveRunner::start(app.store().clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the projections: {e}"))?,
    );
    println!("GraphQL: http://{addr}/graphql");
    if let Some(token) = demo_token {
        println!("admin token: {token}");
        println!("  (send it as: Authorization: Bearer {token})");
    }
    tracing::info!(%addr, "serving");
    let config = ApiConfig {
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        max_body_bytes: args.max_body_bytes,
        rate_limit_per_second: args.rate_limit,
        rate_limit_burst: args.rate_burst,
        token_cache_ttl: std::time::Duration::from_secs(args.token_cache_ttl),
        response_cache_entries: args.response_cache_entries,
        response_cache_bytes: args.response_cache_bytes,
        ..ApiConfig::default()
    };
    let state = seguimiento_api::ApiState::new(app.clone(), runner.clone(), config);
    let router = seguimiento_api::router(state);
    let shutdown = async {
        interrupted.await;
        eprintln!("shutting down: draining connections");
    };
    let limits = seguimiento_api::listen::ServeLimits {
        max_connections: args.max_connections,
        header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout),
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
    };
    seguimiento_api::listen::serve_with(listener, router, shutdown, limits)
        .await
        .context("the server failed")?;
    if let Ok(runner) = Arc::try_unwrap(runner) {
        runner.shutdown().await;
    }
    app.store().close().await;
    Ok(ExitCode::SUCCESS)
}

/// Loads the 2023 demo dataset through the import path, only into an empty store.
async fn load_demo(app: &App) -> anyhow::Result<()> {
    let head = app
        .store()
        .head_position()
        .await
        .map_err(|e| anyhow::anyhow!("reading the log: {e}"))?;
    if head > 0 {
        eprintln!("demo: the store already holds {head} events; not loading the demo dataset");
        return Ok(());
    }
    let dataset = seguimiento_fixtures::demo::dataset_2023();
    let lines: Vec<_> = dataset
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            Ok(ImportLine::command(
                i + 1,
                d.command,
                Some(d.actor),
                Some(d.effective_at),
            ))
        })
        .collect();
    let report = crate::import::run_import(
        app,
        crate::import::ImportSource::Lines(lines),
        &Principal::system("demo"),
        (
            seguimiento_app::import::DEFAULT_CHUNK_EVENTS,
            seguimiento_app::import::DEFAULT_CACHE_EVENTS,
        ),
        "demo",
    )
    .await?;
    eprintln!(
        "demo: loaded {} commands ({} events); {} rejected",
        report.accepted,
        report.events_appended,
        report.rejected.len()
    );
    for r in report.rejected.iter().take(10) {
        eprintln!("demo: line {} rejected: {}", r.line, r.reason);
    }
    if report.interrupted {
        anyhow::bail!("demo loading interrupted");
    }
    Ok(())
}
