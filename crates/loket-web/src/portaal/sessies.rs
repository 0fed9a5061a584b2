//! Residents' sessions, in the portal's own database (component `portaal`).
//!
//! The cookie holds a random token; the store knows only its SHA-256. Who is signed in —
//! the BSN and the name — is sealed with AES-256-GCM under the portal's key, so a copy
//! of the database names nobody. To end every session of one resident ("log out
//! everywhere") the row carries a keyed pseudonym of the BSN, never the BSN itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_core::{Bsn, Secret};
use loket_store::sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{Database, Migration, Schema, StoreError};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub const SCHEMA: Schema = Schema {
    component: "portaal",
    sqlite: &[Migration {
        version: 1,
        description: "residents' sessions",
        sql: include_str!("../../migrations/sqlite/0001_portaal.sql"),
    }],
    postgres: &[Migration {
        version: 1,
        description: "residents' sessions",
        sql: include_str!("../../migrations/postgres/0001_portaal.sql"),
    }],
};

/// A session ends after this long without a request (as DigiD's own)…
pub const IDLE_TIMEOUT: Duration = Duration::minutes(15);
/// …and after this long in any case.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(2);
/// How often a session's last use is written: the idle timeout is exact to this.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);

/// How sure the login is of who the resident is (DigiD's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Niveau {
    Basis,
    Midden,
    Substantieel,
    Hoog,
}

impl Niveau {
    pub const ALL: [Self; 4] = [Self::Basis, Self::Midden, Self::Substantieel, Self::Hoog];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basis => "basis",
            Self::Midden => "midden",
            Self::Substantieel => "substantieel",
            Self::Hoog => "hoog",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == text)
    }
}

/// The signed-in resident, as the pages see them.
#[derive(Clone, PartialEq, Eq)]
pub struct Resident {
    pub bsn: Bsn,
    /// The name as the BRP gives it, to greet them; empty when it could not be asked.
    pub naam: String,
    pub niveau: Niveau,
    /// The keyed pseudonym of the BSN: an owner for idempotency keys, never the BSN.
    pub pseudoniem: String,
}

impl std::fmt::Debug for Resident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resident")
            .field("niveau", &self.niveau)
            .finish_non_exhaustive()
    }
}

/// A live session: signed in or not (the login form's session), and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub resident: Option<Resident>,
    pub csrf: String,
}

/// What is sealed in a row.
#[derive(Serialize, Deserialize)]
struct Sealed {
    bsn: String,
    naam: String,
}

/// A row as stored.
#[derive(Debug)]
pub struct SessionRow {
    pub inwoner: Option<String>,
    pub gegevens: Option<String>,
    pub niveau: Option<String>,
    pub csrf: String,
}

#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    async fn insert(
        &self,
        token_hash: &str,
        row: &SessionRow,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The session if it is still live, its last use moved to `now`; an expired one is
    /// removed.
    async fn touch(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRow>, StoreError>;
    async fn delete(&self, token_hash: &str) -> Result<(), StoreError>;
    async fn delete_of(&self, inwoner: &str) -> Result<u64, StoreError>;
    /// Remove every session that timed out by `now` (idle or absolute), and say how many:
    /// a session nobody comes back to would otherwise stay, sealed BSN and all.
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

pub fn session_store(database: &Database) -> Arc<dyn SessionStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqliteSessions { pool: pool.clone() }),
        Database::Postgres(pool) => Arc::new(PostgresSessions { pool: pool.clone() }),
    }
}

/// The portal's sessions: tokens, sealing and timeouts around a [`SessionStore`].
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    seal: Arc<LessSafeKey>,
    pseudonym: hmac::Key,
    random: SystemRandom,
    /// Sessions read in the last `READ_AGAIN_AFTER`, by token hash: a page that makes
    /// several requests (or a resident clicking on) does not read the same row each time.
    recent: Arc<Mutex<HashMap<String, (OffsetDateTime, Session)>>>,
}

/// A session read from the store is trusted this long before it is read again. Ending a
/// session in this process takes effect at once; on another instance sharing the store,
/// within this time.
pub const READ_AGAIN_AFTER: Duration = Duration::seconds(2);
/// At most this many recently read sessions are kept in memory.
const RECENT_KEPT: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the portal's session key must be 32 bytes or more")]
    TooShort,
}

impl Sessions {
    /// `key`: at least 32 random bytes, kept outside the database. Sealing and pseudonyms
    /// use keys derived from it, each for its own purpose.
    pub fn new(store: Arc<dyn SessionStore>, key: &Secret<Vec<u8>>) -> Result<Self, KeyError> {
        let master = key.expose();
        if master.len() < 32 {
            return Err(KeyError::TooShort);
        }
        let derive = |purpose: &[u8]| {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, master), purpose);
            tag.as_ref().to_vec()
        };
        let seal = UnboundKey::new(&AES_256_GCM, &derive(b"loket portaal sessie: versleutelen"))
            .map_err(|_| KeyError::TooShort)?;
        Ok(Self {
            store,
            seal: Arc::new(LessSafeKey::new(seal)),
            pseudonym: hmac::Key::new(
                hmac::HMAC_SHA256,
                &derive(b"loket portaal sessie: pseudoniem"),
            ),
            random: SystemRandom::new(),
            recent: Arc::default(),
        })
    }

    fn token(&self) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| StoreError::Corrupt("no randomness".to_owned()))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn pseudonym_of(&self, bsn: &Bsn) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.pseudonym, bsn.as_str().as_bytes()))
    }

    /// `value` sealed under the portal's key (for a cookie that must not be read or
    /// changed by its holder).
    pub(crate) fn seal<T: Serialize>(&self, sealed: &T) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| StoreError::Corrupt("no randomness".to_owned()))?;
        let mut data =
            serde_json::to_vec(sealed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.seal
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| StoreError::Corrupt("cannot seal a session".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    pub(crate) fn open<T: serde::de::DeserializeOwned>(&self, text: &str) -> Option<T> {
        let mut bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let mut data = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).ok()?;
        let plain = self
            .seal
            .open_in_place(nonce, Aad::empty(), &mut data)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }

    /// A value sealed with [`Self::seal`], if it opens under our key.
    pub(crate) fn seal_opened<T: serde::de::DeserializeOwned>(&self, text: &str) -> Option<T> {
        self.open(text)
    }

    /// A new session: anonymous (for the login form) or for a resident who just logged in.
    /// Returns the token for the cookie.
    pub async fn start(
        &self,
        resident: Option<(&Bsn, &str, Niveau)>,
        now: OffsetDateTime,
    ) -> Result<(String, Session), StoreError> {
        let token = self.token()?;
        let csrf = self.token()?;
        let row = match resident {
            Some((bsn, naam, niveau)) => SessionRow {
                inwoner: Some(self.pseudonym_of(bsn)),
                gegevens: Some(self.seal(&Sealed {
                    bsn: bsn.as_str().to_owned(),
                    naam: naam.to_owned(),
                })?),
                niveau: Some(niveau.as_str().to_owned()),
                csrf: csrf.clone(),
            },
            None => SessionRow {
                inwoner: None,
                gegevens: None,
                niveau: None,
                csrf: csrf.clone(),
            },
        };
        self.store.insert(&hash_token(&token), &row, now).await?;
        let resident = resident.map(|(bsn, naam, niveau)| Resident {
            bsn: *bsn,
            naam: naam.to_owned(),
            niveau,
            pseudoniem: self.pseudonym_of(bsn),
        });
        Ok((token, Session { resident, csrf }))
    }

    /// The live session the token stands for. A row that does not open under our key
    /// (tampered with, or sealed under another key) is no session.
    pub async fn get(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let hash = hash_token(token);
        if let Some(session) = self.recently_read(&hash, now) {
            return Ok(Some(session));
        }
        let Some(row) = self.store.touch(&hash, now).await? else {
            self.forget(|h, _| *h == hash);
            return Ok(None);
        };
        let resident = match (&row.gegevens, &row.niveau) {
            (Some(sealed), Some(niveau)) => {
                let opened: Option<Sealed> = self.open(sealed);
                let bsn = opened.as_ref().and_then(|s| Bsn::parse(&s.bsn).ok());
                match (opened, bsn, Niveau::parse(niveau)) {
                    (Some(sealed), Some(bsn), Some(niveau)) => Some(Resident {
                        pseudoniem: self.pseudonym_of(&bsn),
                        bsn,
                        naam: sealed.naam,
                        niveau,
                    }),
                    _ => {
                        self.store.delete(&hash).await?;
                        return Ok(None);
                    }
                }
            }
            _ => None,
        };
        let session = Session {
            resident,
            csrf: row.csrf,
        };
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= RECENT_KEPT {
                recent.clear();
            }
            recent.insert(hash, (now, session.clone()));
        }
        Ok(Some(session))
    }

    fn recently_read(&self, hash: &str, now: OffsetDateTime) -> Option<Session> {
        let recent = self.recent.lock().ok()?;
        let (read, session) = recent.get(hash)?;
        (now - *read < READ_AGAIN_AFTER && *read <= now).then(|| session.clone())
    }

    fn forget(&self, which: impl Fn(&String, &Session) -> bool) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.retain(|hash, (_, session)| !which(hash, session));
        }
    }

    pub async fn end(&self, token: &str) -> Result<(), StoreError> {
        let hash = hash_token(token);
        self.forget(|h, _| *h == hash);
        self.store.delete(&hash).await
    }

    /// End every session of this resident, on every device.
    pub async fn end_everywhere(&self, bsn: &Bsn) -> Result<u64, StoreError> {
        let pseudonym = self.pseudonym_of(bsn);
        self.forget(|_, session| {
            session
                .resident
                .as_ref()
                .is_some_and(|r| r.pseudoniem == pseudonym)
        });
        self.store.delete_of(&pseudonym).await
    }
}

fn hash_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn millis(moment: OffsetDateTime) -> i64 {
    i64::try_from(moment.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[derive(Debug)]
struct SqliteSessions {
    pool: SqlitePool,
}

#[derive(Debug)]
struct PostgresSessions {
    pool: PgPool,
}

macro_rules! session_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl SessionStore for $store {
            async fn insert(
                &self,
                token_hash: &str,
                row: &SessionRow,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO sessies (token_hash, inwoner, gegevens, niveau, csrf, aangemaakt_ms, laatst_ms) ",
                );
                insert.push_values([row], |mut values, row| {
                    values
                        .push_bind(token_hash.to_owned())
                        .push_bind(row.inwoner.clone())
                        .push_bind(row.gegevens.clone())
                        .push_bind(row.niveau.clone())
                        .push_bind(row.csrf.clone())
                        .push_bind(millis(now))
                        .push_bind(millis(now));
                });
                insert.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn touch(
                &self,
                token_hash: &str,
                now: OffsetDateTime,
            ) -> Result<Option<SessionRow>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT inwoner, gegevens, niveau, csrf, aangemaakt_ms, laatst_ms FROM sessies WHERE token_hash = ",
                );
                select.push_bind(token_hash.to_owned());
                type Row = (Option<String>, Option<String>, Option<String>, String, i64, i64);
                let Some((inwoner, gegevens, niveau, csrf, created, last)): Option<Row> =
                    select.build_query_as().fetch_optional(&self.pool).await?
                else {
                    return Ok(None);
                };
                if last <= millis(now - IDLE_TIMEOUT) || created <= millis(now - ABSOLUTE_TIMEOUT) {
                    // Expired: gone for good.
                    self.delete(token_hash).await?;
                    return Ok(None);
                }
                // The last use is written at most once a minute: a page view is a read.
                if last < millis(now - TOUCH_EVERY) {
                    let mut update: QueryBuilder<'_, $db> =
                        QueryBuilder::new("UPDATE sessies SET laatst_ms = ");
                    update
                        .push_bind(millis(now))
                        .push(" WHERE token_hash = ")
                        .push_bind(token_hash.to_owned());
                    update.build().execute(&self.pool).await?;
                }
                Ok(Some(SessionRow {
                    inwoner,
                    gegevens,
                    niveau,
                    csrf,
                }))
            }

            async fn delete(&self, token_hash: &str) -> Result<(), StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE token_hash = ");
                delete.push_bind(token_hash.to_owned());
                delete.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_of(&self, inwoner: &str) -> Result<u64, StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE inwoner = ");
                delete.push_bind(inwoner.to_owned());
                Ok(delete.build().execute(&self.pool).await?.rows_affected())
            }

            async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE laatst_ms <= ");
                delete
                    .push_bind(millis(now - IDLE_TIMEOUT))
                    .push(" OR aangemaakt_ms <= ")
                    .push_bind(millis(now - ABSOLUTE_TIMEOUT));
                Ok(delete.build().execute(&self.pool).await?.rows_affected())
            }
        }
    };
}

mod sqlite {
    use super::*;
    session_store_impl!(SqliteSessions, Sqlite);
}

mod postgres {
    use super::*;
    session_store_impl!(PostgresSessions, Postgres);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_rows_open_only_under_their_key_and_unchanged() {
        let store: Arc<dyn SessionStore> = Arc::new(NoStore);
        let one = Sessions::new(store.clone(), &Secret::new(vec![7u8; 32])).unwrap();
        let other = Sessions::new(store, &Secret::new(vec![8u8; 32])).unwrap();
        let sealed = one
            .seal(&Sealed {
                bsn: "999990007".to_owned(),
                naam: "Sanne".to_owned(),
            })
            .unwrap();
        assert!(!sealed.contains("999990007"));
        assert_eq!(one.open::<Sealed>(&sealed).unwrap().bsn, "999990007");
        assert!(
            other.open::<Sealed>(&sealed).is_none(),
            "another key opens nothing"
        );
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            one.open::<Sealed>(&URL_SAFE_NO_PAD.encode(tampered))
                .is_none()
        );
        assert!(one.open::<Sealed>("kort").is_none());
    }

    proptest::proptest! {
        /// The sealed login cookie: any text opens to nothing, any sealed value opens to
        /// itself, and a change to any one of its bytes makes it open to nothing.
        #[test]
        fn a_sealed_value_opens_only_whole(
            text in ".{0,120}",
            bsn in "[0-9]{9}",
            naam in ".{0,40}",
            at in proptest::num::usize::ANY,
            flip in 1u8..=255,
        ) {
            let sessions = Sessions::new(Arc::new(NoStore), &Secret::new(vec![7u8; 32])).unwrap();
            proptest::prop_assert!(sessions.open::<Sealed>(&text).is_none());
            let sealed = sessions.seal(&Sealed { bsn: bsn.clone(), naam: naam.clone() }).unwrap();
            let opened = sessions.open::<Sealed>(&sealed).unwrap();
            proptest::prop_assert_eq!((opened.bsn, opened.naam), (bsn, naam));
            let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
            let at = at % bytes.len();
            bytes[at] ^= flip;
            proptest::prop_assert!(sessions.open::<Sealed>(&URL_SAFE_NO_PAD.encode(bytes)).is_none());
        }
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(Sessions::new(Arc::new(NoStore), &Secret::new(vec![1u8; 31])).is_err());
    }

    #[derive(Debug)]
    struct NoStore;

    #[async_trait]
    impl SessionStore for NoStore {
        async fn insert(
            &self,
            _: &str,
            _: &SessionRow,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Ok(())
        }
        async fn touch(
            &self,
            _: &str,
            _: OffsetDateTime,
        ) -> Result<Option<SessionRow>, StoreError> {
            Ok(None)
        }
        async fn delete(&self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        async fn delete_of(&self, _: &str) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn delete_expired(&self, _: OffsetDateTime) -> Result<u64, StoreError> {
            Ok(0)
        }
    }
}
