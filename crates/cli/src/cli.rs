//! The command line: every command, flag and environment variable, and the dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::util::TimeArg;

/// Default database: a SQLite file in the working directory, created if missing.
pub const DEFAULT_DB: &str = "sqlite://./seguimiento.db";

/// Follow-up of government agreements, commitments, petitions and correspondence
/// (Oficina del Ejecutivo del Estado de Sonora), as an event-sourced log.
#[derive(Debug, Parser)]
#[command(name = "seguimiento", version, about, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the log lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: sqlite://path.db (created if missing) or postgres://user@host/db.
    /// A bare path is read as a SQLite file.
    #[arg(long, env = "SEGUIMIENTO_DB", default_value = DEFAULT_DB)]
    pub db: String,
    /// File of the master key the citizens' keys are wrapped under (32 bytes, created with
    /// mode 0600 on first use). Default: `<file>.keys` next to a SQLite database,
    /// `./seguimiento-<database>.keys` for PostgreSQL. Keep it out of database backups.
    #[arg(long, env = "SEGUIMIENTO_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server and the live projections.
    Serve(ServeArgs),
    /// Import a JSON Lines file of commands (or exported events).
    Import(ImportArgs),
    /// Export the log as JSON Lines, one event per line.
    Export(ExportArgs),
    /// Rebuild one projection (or all) from the log, switching it in atomically.
    Rebuild(RebuildArgs),
    /// Verify the hash chain of one stream or of the whole log (exit 1 when broken), and
    /// optionally that the log still extends a published anchor.
    Verify(VerifyArgs),
    /// Print the head of the log chain (one JSON line: position and link) to publish or
    /// store outside the database; `verify --anchor` checks a later log against it.
    Anchor(AnchorArgs),
    /// Status and lag of every projection.
    Projections(DbOnly),
    /// Print a report (semáforos, cabinet, correspondence, petitions).
    Report(ReportArgs),
    /// Generate synthetic command lines (the import format) at Sonora-like volumes.
    Gen(GenArgs),
    /// Manage API tokens.
    Token(TokenArgs),
    /// Erase a citizen's personal data by deleting their key (crypto-shredding): the
    /// events stay, unreadable for that person; the hash chain and reports are unchanged.
    ForgetCitizen(ForgetCitizenArgs),
    /// Print everything held about one citizen as JSON (a data-protection access request):
    /// their petitions with every event and the contact opened. Recorded.
    CitizenExport(CitizenExportArgs),
    /// Register the standard catalogue entries (tipos de gabinete, canales, temas, tipos
    /// de seguimiento) the log does not hold yet; entries already there are left as the
    /// Office left them. Run once on a log written before catalogues were data.
    SeedCatalogues(DbOnly),
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Debug, Args)]
pub struct ForgetCitizenArgs {
    /// The citizen's id (`citizenId` of their petitions).
    pub citizen_id: uuid::Uuid,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct CitizenExportArgs {
    /// The citizen's id (`citizenId` of their petitions).
    pub citizen_id: uuid::Uuid,
    #[command(flatten)]
    pub db: DbArgs,
    /// Who serves the request (recorded with it).
    #[arg(long, default_value = "cli")]
    pub actor: String,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbOnly {
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "SEGUIMIENTO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Load the 2023 demo dataset into an empty store and print an admin token.
    #[arg(long, env = "SEGUIMIENTO_DEMO")]
    pub demo: bool,
    /// Seconds a GraphQL request may take before it is answered LIMIT_EXCEEDED.
    #[arg(long, env = "SEGUIMIENTO_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "SEGUIMIENTO_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Sustained requests per second allowed per token (0: no limit).
    #[arg(long, env = "SEGUIMIENTO_RATE_LIMIT", default_value_t = 500)]
    pub rate_limit: u32,
    /// Requests a token may send at once above the sustained rate (0: no limit).
    #[arg(long, env = "SEGUIMIENTO_RATE_BURST", default_value_t = 5000)]
    pub rate_burst: u32,
    /// Seconds a verified token is trusted before it is looked up again (0: every
    /// request). A token revoked by another process (`token revoke`) keeps working here
    /// for up to this long.
    #[arg(long, env = "SEGUIMIENTO_TOKEN_CACHE_TTL", default_value_t = 5)]
    pub token_cache_ttl: u64,
    /// Most answers kept by the response cache of live read-model queries (0: no cache).
    #[arg(long, env = "SEGUIMIENTO_RESPONSE_CACHE_ENTRIES", default_value_t = seguimiento_api::ApiConfig::default().response_cache_entries)]
    pub response_cache_entries: usize,
    /// Most bytes of answers kept by the response cache (0: no cache).
    #[arg(long, env = "SEGUIMIENTO_RESPONSE_CACHE_BYTES", default_value_t = seguimiento_api::ApiConfig::default().response_cache_bytes)]
    pub response_cache_bytes: usize,
    /// Most connections served at once (more clients wait to be accepted).
    #[arg(long, env = "SEGUIMIENTO_MAX_CONNECTIONS", default_value_t = seguimiento_api::listen::ServeLimits::default().max_connections)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers before its connection is
    /// closed (idle and trickling sockets included).
    #[arg(long, env = "SEGUIMIENTO_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Seconds a shutdown waits for open connections before it closes them.
    #[arg(long, env = "SEGUIMIENTO_SHUTDOWN_GRACE", default_value_t = 10)]
    pub shutdown_grace: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON Lines file ("-" for standard input).
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
    /// Events per append transaction.
    #[arg(long, env = "SEGUIMIENTO_IMPORT_CHUNK", default_value_t = seguimiento_app::import::DEFAULT_CHUNK_EVENTS)]
    pub chunk: usize,
    /// Events of stream history kept in memory to validate lines; past it the least
    /// recently used streams are dropped and read again from the database when needed.
    #[arg(long, env = "SEGUIMIENTO_IMPORT_CACHE_EVENTS", default_value_t = seguimiento_app::import::DEFAULT_CACHE_EVENTS)]
    pub cache_events: usize,
    /// Subject recorded as actor for lines without one.
    #[arg(long, default_value = "import")]
    pub actor: String,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Citizens' keys written by `export --with-keys`, stored before the events so the
    /// imported contacts stay readable (passphrase in SEGUIMIENTO_KEYS_PASSPHRASE).
    #[arg(long, value_name = "KEYFILE")]
    pub keys: Option<PathBuf>,
}

/// Environment variable holding the passphrase of a citizen key backup file.
pub const KEYS_PASSPHRASE_ENV: &str = "SEGUIMIENTO_KEYS_PASSPHRASE";

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only this stream.
    #[arg(long)]
    pub stream: Option<String>,
    /// Only events recorded at or before this time (RFC 3339, or a date: end of that day in
    /// Sonora).
    #[arg(long)]
    pub as_of: Option<TimeArg>,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Also write every citizen's key to KEYFILE, sealed under the passphrase in
    /// SEGUIMIENTO_KEYS_PASSPHRASE. Without it the exported contacts cannot be read after
    /// an import. Keep the file apart from the log.
    #[arg(long, value_name = "KEYFILE")]
    pub with_keys: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Projection name (default: all).
    pub projection: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only this stream.
    #[arg(long)]
    pub stream: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// An anchor printed earlier by `seguimiento anchor`: its JSON line, or a file holding
    /// it. Exit 1 unless the whole log verifies and still extends it.
    #[arg(long, conflicts_with = "stream")]
    pub anchor: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnchorArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Also write the line to this file (created or truncated).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// What a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// Semáforo of campaign-commitment actions per agency.
    SemaforoCompromisos,
    /// Semáforo of cabinet agreements per agency.
    SemaforoGabinete,
    /// Semáforo of activities per responsible.
    SemaforoActividades,
    /// Cabinet compliance per meeting type.
    Cabinet,
    /// Monthly correspondence totals.
    Correspondence,
    /// Monthly petitions.
    Petitions,
    /// Press conferences of a year: per month and kind, topics, and the register.
    PressConferences,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Xlsx,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub scope: Scope,
    #[command(flatten)]
    pub db: DbArgs,
    /// What the system showed at this time (events recorded at or before it).
    #[arg(long)]
    pub as_of: Option<TimeArg>,
    /// What was true at this time as known now (events effective at or before it).
    #[arg(long)]
    pub effective_at: Option<TimeArg>,
    /// Year of the monthly reports (correspondence, petitions).
    #[arg(long)]
    pub year: Option<i32>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Output file (required for xlsx; default standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// How many years of activity.
    #[arg(long, default_value_t = 1)]
    pub years: u32,
    /// How many agencies.
    #[arg(long, default_value_t = 40)]
    pub agencies: u32,
    /// Seed of the generator (same seed, same file).
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
    /// First year (default 2023, or earlier so that every year lies in the past).
    #[arg(long)]
    pub start_year: Option<i32>,
    /// Volume multiplier (1.0 ≈ 300k events a year; e.g. 0.01 for a quick sample).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once.
    Create {
        /// admin, capturista, auditor or viewer.
        #[arg(long)]
        role: String,
        /// The agency a capturista writes for.
        #[arg(long)]
        agency: Option<String>,
        /// Who the token belongs to (recorded as actor of its writes).
        #[arg(long, default_value = "cli")]
        subject: String,
    },
    /// Revoke a token by id.
    Revoke { id: String },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
}

/// Runs one command; the exit code says whether it succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(a) => crate::serve::run(a).await,
        Command::Import(a) => crate::import::import(a).await,
        Command::Export(a) => crate::import::export(a).await,
        Command::Rebuild(a) => crate::maintenance::rebuild(a).await,
        Command::Verify(a) => crate::maintenance::verify(a).await,
        Command::Anchor(a) => crate::maintenance::anchor(a).await,
        Command::Projections(a) => crate::maintenance::projections(a).await,
        Command::Report(a) => crate::report::run(a).await,
        Command::Gen(a) => crate::gen::run(a),
        Command::Token(a) => crate::token::run(a).await,
        Command::ForgetCitizen(a) => crate::token::forget_citizen(a).await,
        Command::CitizenExport(a) => crate::token::citizen_export(a).await,
        Command::SeedCatalogues(a) => crate::catalogues::seed(a).await,
        Command::Schema => {
            print!("{}", seguimiento_api::sdl());
            Ok(ExitCode::SUCCESS)
        }
    }
}
