//! Single-statement reads from Postgres without sqlx's release ping.
//!
//! sqlx pings every connection it gets back into its pool (sqlx-core 0.8
//! `return_to_pool`): for Postgres a second round trip to the server after every
//! statement, which keeps the connection out of the pool for that long and costs the
//! server a wake-up. A [`PgReader`] keeps a few connections of its own, outside the
//! pool, and hands one out per read. A read that went well puts its connection back
//! without a ping; one that failed, or was cancelled halfway, closes it, so a broken or
//! half-read connection is never reused. A connection that sat idle for a while is
//! pinged before use, as the pool does (`database.rs`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::StoreError;

/// How long a kept connection may sit idle before it is checked before use.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

pub struct PgReader {
    options: PgConnectOptions,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    /// At most this many connections, open or opening.
    permits: Semaphore,
}

impl std::fmt::Debug for PgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReader").finish_non_exhaustive()
    }
}

/// One read's connection. Call [`PgRead::done`] once its statement succeeded; dropped
/// without it, the connection is closed instead of kept.
pub struct PgRead<'a> {
    connection: Option<PgConnection>,
    reader: &'a PgReader,
    _permit: SemaphorePermit<'a>,
}

impl std::fmt::Debug for PgRead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRead").finish_non_exhaustive()
    }
}

impl PgReader {
    /// Up to `connections` connections with the pool's options (schema, JIT off), opened
    /// when first needed.
    ///
    /// A reader runs the same few statements again and again, so its connections plan
    /// each statement once (a generic plan). Left to itself, Postgres plans a statement
    /// like `bsn = ANY($1)` anew on every run, because the generic plan's guess at the
    /// array's length costs it more than a plan for the actual one: measured, a fifth of
    /// the server's work for a lookup.
    pub fn new(pool: &PgPool, connections: usize) -> Self {
        let options = (*pool.connect_options())
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]);
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections.max(1)),
        }
    }

    pub async fn get(&self) -> Result<PgRead<'_>, StoreError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the reader is closed".to_owned()))?;
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match kept {
            Some((mut connection, since)) if since.elapsed() > PING_WHEN_IDLE_FOR => {
                match connection.ping().await {
                    Ok(()) => connection,
                    // The server dropped it (restart, failover): open a new one.
                    Err(_) => self.options.connect().await?,
                }
            }
            Some((connection, _)) => connection,
            None => self.options.connect().await?,
        };
        Ok(PgRead {
            connection: Some(connection),
            reader: self,
            _permit: permit,
        })
    }
}

impl PgRead<'_> {
    /// The connection to run the statement on.
    pub fn connection(&mut self) -> &mut PgConnection {
        self.connection
            .as_mut()
            .unwrap_or_else(|| unreachable!("a read holds its connection until done or dropped"))
    }

    /// The statement succeeded: keep the connection for the next read.
    pub fn done(mut self) {
        if let Some(connection) = self.connection.take()
            && let Ok(mut idle) = self.reader.idle.lock()
        {
            idle.push((connection, Instant::now()));
        }
    }
}

impl Drop for PgRead<'_> {
    fn drop(&mut self) {
        // Not done: an error or a cancelled read. The connection may hold half an answer;
        // dropping it closes the socket.
        drop(self.connection.take());
    }
}
