//! Write transactions on a thread that owns its SQLite connection.
//!
//! sqlx hands each statement of a transaction to the connection's worker thread and back,
//! and pings the connection once more on its way back to the pool: a group commit of six
//! statements costs a dozen thread switches before SQLite does any work. A
//! [`SqliteWriter`] sends the whole transaction to its thread once and gets the outcome
//! back once. Meant for one store's single writer (a log's group commit), whose
//! transactions are already serialised; other writers of the same file wait on SQLite's
//! lock as they would for any connection.
//!
//! A second thread checkpoints the WAL in the background (`PASSIVE`, at most a few times
//! a second, while there are commits): SQLite's automatic checkpoint runs on the
//! committing connection, so every few thousand commits one of them waited for the whole
//! WAL to be copied into the database and synced.
//!
//! The WAL starts over from its beginning only once a checkpoint has copied all of it,
//! and under a steady stream of commits a checkpoint that runs beside them never does:
//! new frames arrive while it copies. SQLite also syncs the database file only after a
//! checkpoint that copied everything. Left alone, the writer's automatic checkpoint
//! finished the job inside a commit: it copied up to a pause's worth of frames and then
//! synced every page copied since the WAL last started over (BENCHMARKS.md, the
//! exchange). So the background thread syncs the database after each of its passes,
//! and once the WAL is long it catches up beside the writer until only a few frames are
//! left, then leaves the last of them to the writer: before its next transaction the
//! writer's own connection copies them, and that transaction starts the WAL over.
//!
//! The background thread runs at background priority (background.rs). A pass copies a
//! few hundred pages and syncs them; at normal priority it took one of two cores from
//! the requests for a couple of milliseconds, five times a second per log, and about
//! half of the exchange's slow log appends started within 5 ms of one (BENCHMARKS.md,
//! the exchange). The writer copies the last frames itself rather than wait for a thread
//! the scheduler may hold back.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::StoreError;

type Job = Box<dyn FnOnce(&mut Slot) + Send>;

/// Pause before a background checkpoint: commits in the meantime join it.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(200);

/// Catching up beside the writer ends once this few frames are left to copy (or after
/// [`CATCH_UP_PASSES`] passes): the writer then waits for their copy and one sync.
const FEW_FRAMES: i64 = 64;
const CATCH_UP_PASSES: usize = 4;

/// How the writer's connection is set up, beyond what every store connection gets.
#[derive(Debug, Clone, Copy)]
pub struct WriterSettings {
    /// Pages of WAL between automatic checkpoints (SQLite's default: 1,000).
    pub wal_autocheckpoint: u32,
    /// Page cache in KiB.
    pub cache_kib: u32,
    /// Pages of WAL from which the background checkpoint starts the WAL over itself
    /// (module docs); below `wal_autocheckpoint`, so that the writer's own automatic
    /// checkpoint does not come first. 0: never.
    pub wal_restart_frames: u32,
}

pub struct SqliteWriter {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    /// The connection, shared by the writer's thread and [`SqliteWriter::write_blocking`].
    slot: Arc<Mutex<Slot>>,
    /// Tells the checkpoint thread that a transaction committed.
    kick: mpsc::SyncSender<()>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteWriter {
    /// A writer of the file at `path` (already created and migrated). Its thread starts
    /// now and ends when the writer is dropped; the connection is opened on first use and
    /// again after a failed transaction.
    pub fn new(path: &Path, settings: WriterSettings) -> Self {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (kick, kicks) = mpsc::sync_channel::<()>(1);
        let last_frames_due = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(Slot {
            path: path.to_owned(),
            settings,
            connection: None,
            last_frames_due: last_frames_due.clone(),
        }));
        let shared = slot.clone();
        let kicked = kick.clone();
        // When the thread cannot start, `inbox` is dropped with it and every write
        // reports the writer as stopped.
        let _ = std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                for job in inbox {
                    job(&mut lock(&shared));
                    // A full channel: a checkpoint is already due.
                    let _ = kicked.try_send(());
                }
            });
        let checkpointer = Checkpointer {
            path: path.to_owned(),
            last_frames_due,
            restart_frames: i64::from(settings.wal_restart_frames),
            connection: None,
            database: None,
        };
        let _ = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                crate::background::lower_priority();
                checkpointer.run(&kicks);
            });
        Self {
            path: path.to_owned(),
            jobs,
            slot,
            kick,
        }
    }

    /// Run `work` in one `BEGIN IMMEDIATE` transaction on the writer's thread and commit
    /// it; nothing of it stays when it fails.
    pub async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |slot| {
            let _ = done.send(slot.transact(work));
        });
        let stopped = || StoreError::Unavailable("the SQLite writer stopped".to_owned());
        self.jobs.send(job).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    /// [`SqliteWriter::write`] on the calling thread, which it blocks until the
    /// transaction has committed: for a caller with a thread of its own to spend (a
    /// log's group commit), so that a transaction costs no hand-off to the writer's
    /// thread and back (two thread wake-ups, about 80 µs on a loaded 2-core VM). Takes
    /// turns with the transactions sent through [`SqliteWriter::write`].
    pub fn write_blocking<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = lock(&self.slot).transact(work);
        let _ = self.kick.try_send(());
        result
    }

    /// [`SqliteWriter::write_blocking`] without waiting for the disk: the transaction's
    /// WAL frames are written but not synced. For work a crash may undo without harm
    /// (what can be redone from what is durable): the next synced commit makes these
    /// frames durable too, since a sync covers the whole WAL file, and frames a crash
    /// cut short fail their checksums and are ignored along with everything after them.
    pub fn write_blocking_unsynced<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = lock(&self.slot).transact_unsynced(work);
        let _ = self.kick.try_send(());
        result
    }
}

/// The connection's slot. A transaction that panicked was rolled back when its
/// `Transaction` was dropped, so a poisoned lock still holds a usable slot; its
/// connection is opened afresh all the same.
fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|poisoned| {
        let mut slot = poisoned.into_inner();
        slot.connection = None;
        slot
    })
}

/// The background checkpoint of one writer's database.
struct Checkpointer {
    path: PathBuf,
    /// Set once only a few frames are left to copy: the writer copies them before its
    /// next transaction, which then starts the WAL over.
    last_frames_due: Arc<AtomicBool>,
    /// 0: never start the WAL over.
    restart_frames: i64,
    connection: Option<Connection>,
    database: Option<File>,
}

/// The WAL after a checkpoint: its frames, and how many of them are in the database.
struct Wal {
    frames: i64,
    copied: i64,
}

impl Checkpointer {
    /// Checkpoint after commits until the writer is gone. A failure only leaves the work
    /// to SQLite's automatic checkpoint on the writer's connection.
    fn run(mut self, kicks: &mpsc::Receiver<()>) {
        while kicks.recv().is_ok() {
            std::thread::sleep(CHECKPOINT_PAUSE);
            while kicks.try_recv().is_ok() {}
            if let Err(error) = self.checkpoint() {
                tracing::debug!(%error, "background checkpoint failed");
                self.connection = None;
                self.database = None;
            }
        }
    }

    /// Copy what the WAL holds into the database and sync it, beside the writer; once
    /// the WAL is long, copy nearly all of it and leave the last frames to the writer,
    /// whose next transaction then starts it over.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        let wal = self.pass()?;
        // SQLite syncs the database only after a checkpoint that copied the whole WAL:
        // without this, that one (on the writer's connection) would write out every page
        // copied since the WAL last started over.
        self.sync_database()?;
        if self.restart_frames == 0 || wal.frames < self.restart_frames {
            return Ok(());
        }
        for _ in 0..CATCH_UP_PASSES {
            let wal = self.pass()?;
            if wal.frames - wal.copied <= FEW_FRAMES {
                break;
            }
        }
        self.sync_database()?;
        self.last_frames_due.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// A `PASSIVE` checkpoint: copies what no reader still needs, never waits for anyone.
    fn pass(&mut self) -> Result<Wal, StoreError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
        };
        let connection = self.connection.insert(connection);
        Ok(
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok(Wal {
                    frames: row.get(1)?,
                    copied: row.get(2)?,
                })
            })?,
        )
    }

    fn sync_database(&mut self) -> Result<(), StoreError> {
        let path = &self.path;
        let unavailable =
            |error: std::io::Error| StoreError::Unavailable(format!("{}: {error}", path.display()));
        let database = match self.database.take() {
            Some(file) => file,
            None => OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(unavailable)?,
        };
        self.database
            .insert(database)
            .sync_data()
            .map_err(unavailable)
    }
}

fn run<T>(
    connection: &mut Connection,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = work(&transaction)?;
    transaction.commit()?;
    Ok(value)
}

/// The writer thread's connection, opened when first needed.
struct Slot {
    path: PathBuf,
    settings: WriterSettings,
    connection: Option<Connection>,
    /// Shared with the checkpoint thread ([`Checkpointer`]).
    last_frames_due: Arc<AtomicBool>,
}

impl Slot {
    /// `work` in one transaction on the slot's connection.
    fn transact<T>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self
            .connection()
            .and_then(|connection| run(connection, work));
        if result.is_err() {
            // A fresh connection next time: whatever state this one is in goes.
            self.connection = None;
        }
        result
    }

    /// `work` in one transaction that commits without a sync. SQLite refuses to change
    /// `synchronous` inside a transaction, so it is switched off around it.
    fn transact_unsynced<T>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self.connection().and_then(|connection| {
            connection.pragma_update(None, "synchronous", "OFF")?;
            let result = run(connection, work);
            connection.pragma_update(None, "synchronous", "FULL")?;
            result
        });
        if result.is_err() {
            // Whatever state the connection is in, synced or not, goes with it.
            self.connection = None;
        }
        result
    }

    /// The connection, having copied the WAL's last frames first when the checkpoint
    /// thread left them to it.
    fn connection(&mut self) -> Result<&mut Connection, StoreError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let connection = self.connection.insert(connection);
        if self.last_frames_due.swap(false, Ordering::Relaxed) {
            // A failure leaves the WAL to grow until the next try or SQLite's automatic
            // checkpoint; the transaction goes ahead either way.
            if let Err(error) =
                connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            {
                tracing::debug!(%error, "the writer could not copy the WAL's last frames");
            }
        }
        Ok(connection)
    }

    /// The same durability as the store's pool (database.rs): WAL, synchronous FULL.
    fn open(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        connection.pragma_update(None, "temp_store", "memory")?;
        connection.pragma_update(None, "wal_autocheckpoint", self.settings.wal_autocheckpoint)?;
        connection.pragma_update(None, "cache_size", -i64::from(self.settings.cache_kib))?;
        connection.set_prepared_statement_cache_capacity(32);
        let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "{} is in journal mode {mode}, not WAL",
                self.path.display()
            )));
        }
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlitePool;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

    const SETTINGS: WriterSettings = WriterSettings {
        wal_autocheckpoint: 1000,
        cache_kib: 2048,
        wal_restart_frames: 0,
    };

    async fn pool(dir: &Path) -> SqlitePool {
        pool_in_mode(&dir.join("t.db"), SqliteJournalMode::Wal).await
    }

    async fn pool_in_mode(path: &Path, mode: SqliteJournalMode) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(mode);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    async fn rows(pool: &SqlitePool) -> Vec<(i64, String)> {
        sqlx::query_as("SELECT k, v FROM t ORDER BY k")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    fn insert(tx: &Transaction<'_>, k: i64, v: &str) -> Result<(), StoreError> {
        tx.prepare_cached("INSERT INTO t (k, v) VALUES (?1, ?2)")?
            .execute(rusqlite::params![k, v])?;
        Ok(())
    }

    #[tokio::test]
    async fn a_committed_write_is_seen_by_the_pool_and_returns_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = SqliteWriter::new(&dir.path().join("t.db"), SETTINGS);
        let written = writer
            .write(|tx| {
                insert(tx, 1, "een")?;
                insert(tx, 2, "twee")?;
                Ok(2)
            })
            .await
            .unwrap();
        assert_eq!(written, 2);
        assert_eq!(rows(&pool).await, [(1, "een".into()), (2, "twee".into())]);
    }

    #[tokio::test]
    async fn a_failed_transaction_leaves_nothing_and_the_next_one_works() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = SqliteWriter::new(&dir.path().join("t.db"), SETTINGS);
        let failed = writer
            .write(|tx| {
                insert(tx, 1, "een")?;
                insert(tx, 1, "nog eens een")
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Sqlite(_))), "{failed:?}");
        assert!(
            rows(&pool).await.is_empty(),
            "the first insert was rolled back"
        );
        writer.write(|tx| insert(tx, 3, "drie")).await.unwrap();
        assert_eq!(rows(&pool).await, [(3, "drie".into())]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_writes_take_turns_with_writes_sent_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = Arc::new(SqliteWriter::new(&dir.path().join("t.db"), SETTINGS));
        let blocking = {
            let writer = writer.clone();
            tokio::task::spawn_blocking(move || {
                for k in 0..200 {
                    writer
                        .write_blocking(|tx| insert(tx, k, "blokkerend"))
                        .unwrap();
                }
                // A failure leaves nothing and the writer goes on.
                let failed = writer.write_blocking(|tx| {
                    insert(tx, 1000, "half")?;
                    insert(tx, 0, "dubbel")
                });
                assert!(matches!(failed, Err(StoreError::Sqlite(_))), "{failed:?}");
            })
        };
        for k in 200..400 {
            writer
                .write(move |tx| insert(tx, k, "via de thread"))
                .await
                .unwrap();
        }
        blocking.await.unwrap();
        let rows = rows(&pool).await;
        assert_eq!(rows.len(), 400);
        assert!(
            rows.iter().map(|(k, _)| *k).eq(0..400),
            "every write, and only those"
        );
    }

    #[tokio::test]
    async fn an_unsynced_write_commits_and_the_next_write_syncs_again() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = SqliteWriter::new(&dir.path().join("t.db"), SETTINGS);
        let synchronous = |tx: &Transaction<'_>| -> Result<i64, StoreError> {
            Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?)
        };
        let during = writer
            .write_blocking_unsynced(|tx| {
                insert(tx, 1, "een")?;
                synchronous(tx)
            })
            .unwrap();
        assert_eq!(during, 0, "OFF inside the unsynced transaction");
        assert_eq!(
            writer.write_blocking(synchronous).unwrap(),
            2,
            "FULL after it"
        );
        // A failed unsynced transaction leaves nothing and syncing as it was.
        let failed = writer.write_blocking_unsynced(|tx| {
            insert(tx, 2, "twee")?;
            insert(tx, 1, "dubbel")
        });
        assert!(matches!(failed, Err(StoreError::Sqlite(_))), "{failed:?}");
        assert_eq!(writer.write_blocking(synchronous).unwrap(), 2);
        assert_eq!(rows(&pool).await, [(1, "een".into())]);
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_through_the_background_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let pool = pool(dir.path()).await;
        // No automatic checkpoint on the writer's connection: only the background one.
        let writer = SqliteWriter::new(
            &path,
            WriterSettings {
                wal_autocheckpoint: 0,
                cache_kib: 2048,
                wal_restart_frames: 0,
            },
        );
        let before = std::fs::metadata(&path).unwrap().len();
        let text = "x".repeat(4000);
        for k in 0..256 {
            let text = text.clone();
            writer.write(move |tx| insert(tx, k, &text)).await.unwrap();
        }
        let mut grown = 0;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            grown = std::fs::metadata(&path).unwrap().len() - before;
            if grown >= 256 * 4000 {
                break;
            }
        }
        assert!(
            grown >= 256 * 4000,
            "the database file grew by {grown} bytes only"
        );
        assert_eq!(rows(&pool).await.len(), 256);
    }

    /// The WAL's frame count, from the WAL-index header in the `-shm` file (`mxFrame`,
    /// bytes 16..20 in native byte order; sqlite.org/walformat.html), read without
    /// taking any of SQLite's locks.
    fn wal_frames(path: &Path) -> u32 {
        let shm = std::fs::read(path.with_extension("db-shm")).unwrap();
        u32::from_ne_bytes(shm[16..20].try_into().unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_commits_that_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let pool = pool(dir.path()).await;
        // No automatic checkpoint on the writer's connection: a checkpoint that runs
        // beside commits that never pause never copies the whole WAL, so without the
        // background restart the WAL would only grow.
        let writer = Arc::new(SqliteWriter::new(
            &path,
            WriterSettings {
                wal_autocheckpoint: 0,
                cache_kib: 2048,
                wal_restart_frames: 64,
            },
        ));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let commits = {
            let (writer, stop) = (writer.clone(), stop.clone());
            tokio::task::spawn_blocking(move || {
                let mut k = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    writer
                        .write_blocking(|tx| insert(tx, k, "zonder pauze"))
                        .unwrap();
                    k += 1;
                }
                k
            })
        };
        let mut longest = 0;
        let mut started_over = false;
        for _ in 0..1000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let frames = wal_frames(&path);
            if frames < longest {
                started_over = true;
                break;
            }
            longest = frames;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = commits.await.unwrap();
        assert!(
            started_over,
            "the WAL grew to {longest} frames in {written} commits and never started over"
        );
        assert_eq!(rows(&pool).await.len(), usize::try_from(written).unwrap());
    }

    /// The nice value of each of this process's checkpoint threads.
    #[cfg(target_os = "linux")]
    fn checkpoint_thread_nice_values() -> Vec<i64> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("sqlite-checkpoi") {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // After the name in parentheses: state is field 3, nice field 19.
            let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            if let Some(nice) = after_name.split_whitespace().nth(16) {
                found.push(nice.parse().unwrap());
            }
        }
        found
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_checkpoint_thread_yields_the_cpu_to_the_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let pool = pool(dir.path()).await;
        let _writer = SqliteWriter::new(&path, SETTINGS);
        let background = i64::from(crate::background::BACKGROUND_NICE);
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = checkpoint_thread_nice_values();
            if !seen.is_empty() && seen.iter().all(|nice| *nice == background) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!seen.is_empty(), "no checkpoint thread");
        assert!(
            seen.iter().all(|nice| *nice == background),
            "checkpoint threads at nice {seen:?}"
        );
        drop(pool);
    }

    #[tokio::test]
    async fn a_file_that_is_not_there_is_an_error_not_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        let writer = SqliteWriter::new(&missing, SETTINGS);
        let result = writer.write(|tx| insert(tx, 1, "een")).await;
        assert!(matches!(result, Err(StoreError::Sqlite(_))), "{result:?}");
        assert!(!missing.exists());
    }

    #[tokio::test]
    async fn a_database_not_in_wal_mode_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollback.db");
        let _pool = pool_in_mode(&path, SqliteJournalMode::Delete).await;
        let writer = SqliteWriter::new(&path, SETTINGS);
        let result = writer.write(|tx| insert(tx, 1, "een")).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }
}
