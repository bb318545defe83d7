// Migrations are embedded with `sqlx::migrate!`; rebuild when any file under them changes
// (other crates add their migration files there).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
