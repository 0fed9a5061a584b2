//! Point reads from a SQLite store on the caller's own thread.
//!
//! sqlx runs every SQLite connection on a worker thread of its own: each statement is a
//! hand-off to that thread and back, and each connection is pinged once more on its way
//! back to the pool (sqlx-core 0.8 `return_to_pool`). For a lookup that SQLite answers
//! from its page cache in microseconds, those four thread wake-ups are nearly all of the
//! cost: the Overzicht page spent 85% of its CPU on its two lookups (BENCHMARKS.md).
//!
//! A [`SqliteReader`] runs a read directly on the calling thread, on a query-only
//! connection of its own to the same file. Only for bounded reads: an index lookup with
//! a `LIMIT`, never a scan, since it holds the calling (async) thread for its duration.
//! Writes stay on the pool. In WAL mode a read never waits for a writer, and each
//! statement reads the newest committed state, so a read after a write sees it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::SqlitePool;

use crate::StoreError;

/// Connections kept for reuse. Reads never wait for each other: a read that finds none
/// idle opens one, so there are at most as many as threads reading at once.
const KEPT: usize = 8;
/// How much of a database file a reader maps into memory: address space, not memory
/// (the pages stay in the kernel's page cache, shared by all readers). SQLite's own
/// ceiling in the bundled build (`SQLITE_MAX_MMAP_SIZE`, 0x7fff0000); a larger file is
/// read through the mapping up to there and with system calls beyond.
const MMAP_BYTES: i64 = 0x7fff_0000;

pub struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteReader {
    /// A reader of the file `pool` writes to. Connections are opened on first use.
    pub fn new(pool: &SqlitePool) -> Self {
        Self::for_file(pool.connect_options().get_filename())
    }

    pub fn for_file(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Run `read` on a query-only connection, on this thread. Statements should be
    /// prepared with `prepare_cached`: a connection keeps them between reads.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = match self.take_idle() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        self.put_back(connection);
        result
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn put_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEPT
        {
            idle.push(connection);
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // Read-write flags but no CREATE: a WAL database's shared-memory index must be
        // writable even for readers; `query_only` then refuses every write.
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "query_only", true)?;
        // 8 MiB of page cache: the hot index pages of a lookup, per connection.
        connection.pragma_update(None, "cache_size", -8192)?;
        // Pages beyond that cache read straight from the file's mapping instead of being
        // copied in by a system call each (lookups by BSN spread over the whole file).
        connection.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        connection.set_prepared_statement_cache_capacity(32);
        Ok(connection)
    }
}

/// A statement that failed in SQLite itself (not in checking what it returned).
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

    async fn pool(dir: &Path) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("t.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    fn value(reader: &SqliteReader, k: i64) -> Option<String> {
        reader
            .read(|c| {
                let mut select = c.prepare_cached("SELECT v FROM t WHERE k = ?1")?;
                let mut rows = select.query([k])?;
                Ok(match rows.next()? {
                    Some(row) => Some(row.get(0)?),
                    None => None,
                })
            })
            .unwrap()
    }

    #[tokio::test]
    async fn a_read_sees_every_write_the_pool_committed_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let reader = SqliteReader::new(&pool);
        assert_eq!(value(&reader, 1), None);
        for round in 0..3 {
            sqlx::query(
                "INSERT INTO t (k, v) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            )
            .bind(format!("round {round}"))
            .execute(&pool)
            .await
            .unwrap();
            // The same (kept) connection each time: it must not read an old snapshot.
            assert_eq!(value(&reader, 1), Some(format!("round {round}")));
        }
    }

    #[tokio::test]
    async fn a_reader_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let reader = SqliteReader::new(&pool);
        let error = reader
            .read(|c| Ok(c.execute("INSERT INTO t (k, v) VALUES (2, 'x')", [])?))
            .unwrap_err();
        assert!(error.to_string().contains("readonly"), "{error}");
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let reader = SqliteReader::for_file(&dir.path().join("absent.db"));
        assert!(reader.read(|_| Ok(())).is_err());
        assert!(!dir.path().join("absent.db").exists());
    }
}
