use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::migrate::{self, Schema};
use crate::{StorageUrl, StoreError};

/// One component's own database: a SQLite file, or a schema in PostgreSQL.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Database {
    /// Open (creating if needed) the database of `schema.component` and bring it up to date.
    pub async fn open(url: &StorageUrl, schema: &Schema) -> Result<Self, StoreError> {
        let component = schema.component_name()?;
        let database = match url {
            StorageUrl::SqliteDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                    path: dir.display().to_string(),
                    source,
                })?;
                Self::Sqlite(open_sqlite(&dir.join(format!("{component}.db"))).await?)
            }
            StorageUrl::Postgres(url) => {
                Self::Postgres(open_postgres(url.expose(), component).await?)
            }
        };
        migrate::apply(&database, schema).await?;
        Ok(database)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Readiness: the database answers and every migration of this build is applied.
    pub async fn check_ready(&self, schema: &Schema) -> Result<(), StoreError> {
        migrate::check(self, schema).await
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Run `statements` in order on a connection of their own, for work that is slow by
/// design (the indexes a bulk load builds at its end): sqlx warns of every statement
/// over a second, and the person loading a municipality would take those for trouble.
/// The connection closes afterwards, so a pragma among `statements` ends with it.
pub async fn run_slow_sqlite(pool: &SqlitePool, statements: &[String]) -> Result<(), StoreError> {
    run_slow::<sqlx::Sqlite>((*pool.connect_options()).clone(), statements).await
}

/// [`run_slow_sqlite`] for PostgreSQL, in the pool's schema.
pub async fn run_slow_postgres(pool: &PgPool, statements: &[String]) -> Result<(), StoreError> {
    run_slow::<sqlx::Postgres>((*pool.connect_options()).clone(), statements).await
}

async fn run_slow<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
    statements: &[String],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut connection = options
        .log_slow_statements(tracing::log::LevelFilter::Off, Duration::ZERO)
        .connect()
        .await?;
    for statement in statements {
        connection.execute(statement.as_str()).await?;
    }
    connection.close().await?;
    Ok(())
}

async fn open_sqlite(path: &std::path::Path) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // WAL lets readers go on while one writer writes; FULL makes every commit that
        // reports success survive a power cut (NORMAL could lose the last ones in WAL mode).
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("temp_store", "memory")
        // 32 MiB of page cache per connection (the default is 2 MiB): index pages stay in
        // memory instead of being read back from the OS for every insert or lookup.
        .pragma("cache_size", "-32768")
        .log_statements(tracing::log::LevelFilter::Trace);
    // SQLite runs inside this process, one worker thread per connection: more connections
    // than cores only add thread switches (measured: p99 of a BRP lookup 2.4 ms with 8
    // connections, 1.9 ms with 2, on two cores; BENCHMARKS.md).
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    // No ping before handing out a connection: an embedded database does not drop a
    // connection the way a network does, and each ping is one more round trip to the
    // connection's worker thread (half of them, for a page of single-row lookups).
    let pool = SqlitePoolOptions::new()
        .max_connections(u32::try_from(cores.clamp(2, 8)).unwrap_or(8))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Connections per component: twice the cores, 4 to 16. A server on the same machine
/// shares its cores with Loket; more backends than that only queue for them (measured:
/// BRP lookups 7,100–7,300 req/s with 16, 8,500–9,100 with 4, on two cores; BENCHMARKS.md).
fn postgres_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    u32::try_from((cores * 2).clamp(4, 16)).unwrap_or(16)
}

/// How long a pooled Postgres connection may sit idle before it is checked on acquire.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

async fn open_postgres(url: &str, schema: &str) -> Result<PgPool, StoreError> {
    let base = PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
    // Create the component's schema once, then pin every pooled connection to it, so a
    // component's queries cannot wander into another component's tables by accident.
    let mut admin = base.connect().await?;
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    admin.execute(create.as_str()).await?;
    admin.close().await?;
    // JIT off: Loket's statements are short lookups and appends; JIT compiling costs
    // ~100 ms and kicks in exactly when estimates are off (statistics lagging behind a
    // burst of writes), turning a 2 ms lookup into 100 ms.
    let options = base.options([("search_path", schema), ("jit", "off")]);
    // A connection in steady use is not pinged before each statement (that was a second
    // round trip per lookup); one that sat idle for a while is, so a server restart
    // costs a reconnect instead of a failed request.
    let pool = PgPoolOptions::new()
        .max_connections(postgres_pool_size())
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(pool)
}
