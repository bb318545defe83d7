//! Runs every benchmark at smoke size on SQLite (and PostgreSQL when TEST_DATABASE_URL is
//! set) and checks only that every figure was produced: no timing assertions.

use seguimiento_bench::config::{Params, Size};
use seguimiento_bench::dataset;
use seguimiento_bench::db::BackendKind;
use seguimiento_bench::report::Figure;
use seguimiento_bench::suite::Suite;

async fn run(backend: BackendKind, pg_url: &str) -> Vec<Figure> {
    let params = Params::for_size(Size::Smoke);
    let data = dataset::from_demo(params.events);
    assert!(data.events.len() >= 1_000, "demo dataset too small");
    let bin = dataset::find_binary();
    let suite = Suite {
        params: &params,
        dataset: &data,
        backend,
        pg_url,
        bin: bin.as_deref(),
    };
    suite.run().await.expect("the smoke suite runs")
}

fn check(figures: &[Figure]) {
    for number in 1..=8 {
        assert!(
            figures.iter().any(|f| f.number == number),
            "figure {number} missing"
        );
    }
    for f in figures {
        assert!(f.produced(), "figure not produced: {f:?}");
    }
    println!("{}", seguimiento_bench::report::table(figures));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_sqlite() {
    check(&run(BackendKind::Sqlite, "").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        println!("SKIPPED: TEST_DATABASE_URL is not set");
        return;
    };
    check(&run(BackendKind::Postgres, &url).await);
}
