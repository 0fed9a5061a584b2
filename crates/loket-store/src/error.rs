#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A statement run directly through SQLite (`SqliteReader`, `SqliteWriter`) failed.
    #[error("SQLite error: {0}")]
    Sqlite(String),
    #[error("cannot prepare storage directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("migration {version} of {component} was changed after it was applied")]
    MigrationChanged {
        component: &'static str,
        version: i64,
    },
    #[error("{component} is missing migrations: {missing:?}")]
    MigrationsPending {
        component: &'static str,
        missing: Vec<i64>,
    },
    #[error(
        "{component} has migration {version} that this build does not know; is a newer Loket running?"
    )]
    UnknownMigration {
        component: &'static str,
        version: i64,
    },
    #[error("invalid component name {0:?}")]
    ComponentName(&'static str),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A write could not be done, for a reason reported elsewhere (a writer that
    /// stopped, a shared transaction that failed).
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}
