//! The committed `schema.graphql` must be the SDL the code serves.

use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql")
}

#[test]
fn committed_schema_graphql_matches_the_served_sdl() {
    let sdl = seguimiento_api::sdl();
    let path = schema_path();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        // As `seguimiento schema > schema.graphql` writes it (println: one final newline).
        std::fs::write(&path, format!("{}\n", sdl.trim_end())).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    // Trailing whitespace is not a difference (`println!` adds a newline).
    let (committed, sdl) = (committed.trim_end(), sdl.trim_end());
    if committed != sdl {
        let first_diff = committed
            .lines()
            .zip(sdl.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(sdl.lines().count()));
        panic!(
            "schema.graphql is out of date (first difference at line {}).\n\
             Regenerate it: `cargo run -p seguimiento -- schema > schema.graphql` \
             (or `UPDATE_SCHEMA=1 cargo test -p seguimiento-api --test schema_file`).\n\
             committed: {:?}\n\
             served:    {:?}",
            first_diff + 1,
            committed.lines().nth(first_diff),
            sdl.lines().nth(first_diff),
        );
    }
}

#[test]
fn sdl_names_the_public_queries() {
    let sdl = seguimiento_api::sdl();
    for q in [
        "agencies(",
        "agency(",
        "compliance(",
        "complianceExplain(",
        "cabinetReport(",
        "commitments(",
        "correspondenceMonthly(",
        "correspondenceByAgency(",
        "petitionsMonthly(",
        "history(",
        "verify(",
        "agreement(",
        "commitment(",
        "petition(",
        "letter(",
        "events(",
        "complianceChanged(",
    ] {
        assert!(sdl.contains(q), "SDL lacks {q}");
    }
}
