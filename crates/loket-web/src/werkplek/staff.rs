//! Staff accounts and their sessions, in the workspace's own database (component
//! `werkplek`). Passwords are kept as argon2id hashes; a session is known by the SHA-256
//! of its token, so a copy of the database does not let anyone sign in. Too many wrong
//! passwords lock an account for a while.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_store::sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{Database, Migration, Schema, StoreError};
use loket_zaken::werk::{Medewerker, StaffRole};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

pub const SCHEMA: Schema = Schema {
    component: "werkplek",
    sqlite: &[
        Migration {
            version: 1,
            description: "staff accounts, sessions, sign-in audit",
            sql: include_str!("../../migrations/sqlite/0001_werkplek.sql"),
        },
        Migration {
            version: 2,
            description: "sign-ins at the identity provider in progress",
            sql: include_str!("../../migrations/sqlite/0002_werkplek_oidc.sql"),
        },
    ],
    postgres: &[
        Migration {
            version: 1,
            description: "staff accounts, sessions, sign-in audit",
            sql: include_str!("../../migrations/postgres/0001_werkplek.sql"),
        },
        Migration {
            version: 2,
            description: "sign-ins at the identity provider in progress",
            sql: include_str!("../../migrations/postgres/0002_werkplek_oidc.sql"),
        },
    ],
};

/// A sign-in at the identity provider must come back within this time.
pub const OIDC_LOGIN_TIMEOUT: Duration = Duration::minutes(10);

/// A session ends after this long without a request…
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// …and after this long in any case (one working day).
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(10);
/// Wrong passwords in a row before an account is locked, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);
/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A session as the pages see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in employee, or `None` before signing in (the sign-in form's session).
    pub medewerker: Option<String>,
    pub csrf: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown account, wrong password or inactive: one answer, so that the form does not
    /// tell which accounts exist.
    #[error("wrong account name or password")]
    Wrong,
    #[error("the account is locked for a while after too many wrong passwords")]
    Locked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account name is 1 to 32 lowercase letters, digits, dots or dashes")]
    Name,
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    Password,
    #[error("an account needs at least one role")]
    Roles,
    #[error("that account already exists")]
    Exists,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait StaffStore: Send + Sync + std::fmt::Debug {
    async fn add_account(
        &self,
        id: &str,
        naam: &str,
        password_hash: &str,
        rollen: &[StaffRole],
    ) -> Result<bool, StoreError>;
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    async fn accounts(&self) -> Result<Vec<Medewerker>, StoreError>;
    /// Count a wrong password; lock the account when there were too many.
    async fn failed_login(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn reset_failures(&self, id: &str) -> Result<(), StoreError>;
    async fn insert_session(
        &self,
        token_hash: &str,
        medewerker: Option<&str>,
        csrf: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The session, if it has not timed out; a hit counts as activity.
    async fn touch_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Sign out everywhere: every session of this employee ends.
    async fn delete_sessions_of(&self, medewerker: &str) -> Result<u64, StoreError>;
    /// Remove every session that timed out by `now` (idle or absolute), and say how many:
    /// a login page nobody used, or a session nobody came back to, would otherwise stay.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    async fn save_oidc_login(
        &self,
        state_hash: &str,
        binding_hash: &str,
        nonce: &str,
        verifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Take (and remove) the sign-in: binding hash, nonce, verifier, started.
    async fn take_oidc_login(
        &self,
        state_hash: &str,
    ) -> Result<Option<(String, String, String, i64)>, StoreError>;
    async fn audit(
        &self,
        medewerker: &str,
        actie: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// An account as stored.
#[derive(Debug, Clone)]
pub struct Account {
    pub medewerker: Medewerker,
    pub password_hash: String,
    pub active: bool,
    pub locked_until: OffsetDateTime,
}

pub fn staff_store(database: &Database) -> Arc<dyn StaffStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqliteStaff { pool: pool.clone() }),
        Database::Postgres(pool) => Arc::new(PostgresStaff { pool: pool.clone() }),
    }
}

/// Accounts and sessions, with the rules on top of the store.
#[derive(Debug, Clone)]
pub struct Staff {
    store: Arc<dyn StaffStore>,
    random: SystemRandom,
}

impl Staff {
    pub fn new(store: Arc<dyn StaffStore>) -> Self {
        Self {
            store,
            random: SystemRandom::new(),
        }
    }

    fn token(&self) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| StoreError::Corrupt("no randomness".to_owned()))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub async fn add_account(
        &self,
        id: &str,
        naam: &str,
        password: &str,
        rollen: &[StaffRole],
    ) -> Result<(), AccountError> {
        let valid_name = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_name {
            return Err(AccountError::Name);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AccountError::Password);
        }
        if rollen.is_empty() {
            return Err(AccountError::Roles);
        }
        let mut salt = [0u8; 16];
        self.random
            .fill(&mut salt)
            .map_err(|_| AccountError::Hash("no randomness".to_owned()))?;
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(AccountError::Hash)?;
        if self.store.add_account(id, naam, &hash, rollen).await? {
            Ok(())
        } else {
            Err(AccountError::Exists)
        }
    }

    pub async fn accounts(&self) -> Result<Vec<Medewerker>, StoreError> {
        self.store.accounts().await
    }

    pub async fn medewerker(&self, id: &str) -> Result<Option<Medewerker>, StoreError> {
        Ok(self
            .store
            .account(id)
            .await?
            .filter(|a| a.active)
            .map(|a| a.medewerker))
    }

    /// Check the password; the hash is compared even for an unknown account, so the answer
    /// takes as long either way.
    pub async fn verify(
        &self,
        id: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<Medewerker, LoginError> {
        let account = self.store.account(id).await?;
        if let Some(account) = &account
            && account.locked_until > now
        {
            return Err(LoginError::Locked);
        }
        let hash = account
            .as_ref()
            .map_or_else(|| DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        match account {
            Some(account) if matches && account.active => {
                self.store.reset_failures(id).await?;
                self.store.audit(id, "ingelogd", now).await?;
                Ok(account.medewerker)
            }
            Some(_) => {
                self.store.failed_login(id, now).await?;
                self.store.audit(id, "inloggen mislukt", now).await?;
                Err(LoginError::Wrong)
            }
            None => Err(LoginError::Wrong),
        }
    }

    /// A new session (for `medewerker`, or anonymous for the sign-in form): its token for
    /// the cookie, and the session.
    pub async fn start_session(
        &self,
        medewerker: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(String, Session), StoreError> {
        let token = self.token()?;
        let csrf = self.token()?;
        self.store
            .insert_session(&hash_token(&token), medewerker, &csrf, now)
            .await?;
        Ok((
            token,
            Session {
                medewerker: medewerker.map(str::to_owned),
                csrf,
            },
        ))
    }

    pub async fn session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        self.store.touch_session(&hash_token(token), now).await
    }

    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        self.store.delete_session(&hash_token(token)).await
    }

    /// Remove the sessions that timed out by `now`; how many. Run now and then.
    pub async fn sweep_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.store.delete_expired_sessions(now).await
    }

    pub async fn sign_out_everywhere(
        &self,
        medewerker: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.store
            .audit(medewerker, "overal uitgelogd", now)
            .await?;
        self.store.delete_sessions_of(medewerker).await
    }

    pub async fn audit(
        &self,
        medewerker: &str,
        actie: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.store.audit(medewerker, actie, now).await
    }

    /// Keep a sign-in at the identity provider until it comes back; the token returned is
    /// for the browser's cookie, which alone can finish it.
    pub async fn begin_oidc_login(
        &self,
        pending: &crate::oidc::Pending,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let binding = self.token()?;
        self.store
            .save_oidc_login(
                &hash_token(&pending.state),
                &hash_token(&binding),
                &pending.nonce,
                &pending.verifier,
                now,
            )
            .await?;
        Ok(binding)
    }

    /// The sign-in `state` names, once, if this browser started it in the last ten minutes.
    pub async fn finish_oidc_login(
        &self,
        state: &str,
        binding: &str,
        now: OffsetDateTime,
    ) -> Result<Option<crate::oidc::Pending>, StoreError> {
        let Some((binding_hash, nonce, verifier, started)) =
            self.store.take_oidc_login(&hash_token(state)).await?
        else {
            return Ok(None);
        };
        let fresh = started > millis(now - OIDC_LOGIN_TIMEOUT);
        Ok(
            (fresh && same_secret(&binding_hash, &hash_token(binding))).then(|| {
                crate::oidc::Pending {
                    state: state.to_owned(),
                    nonce,
                    verifier,
                }
            }),
        )
    }

    /// A signed-in employee whose identity provider vouched for them: an active account
    /// of that name, or nobody. Audited either way.
    pub async fn vouched_for(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Medewerker>, StoreError> {
        let found = self.medewerker(id).await?;
        if let Some(m) = &found {
            self.store
                .audit(&m.id, "ingelogd via de identity provider", now)
                .await?;
        } else {
            tracing::warn!("the identity provider vouched for an unknown or inactive account");
        }
        Ok(found)
    }
}

/// A valid argon2id hash of a random password nobody knows, to verify against when the
/// account does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mPu4Ov0bX7ln5Jp6Y0v2jyk1nR3cRk6fO5c0kPj5eWg";

fn hash_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    loket_core::same_secret(a.as_bytes(), b.as_bytes())
}

fn millis(moment: OffsetDateTime) -> i64 {
    i64::try_from(moment.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn roles_text(rollen: &[StaffRole]) -> String {
    rollen
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_roles(text: &str) -> Vec<StaffRole> {
    text.split(',').filter_map(StaffRole::parse).collect()
}

type AccountRow = (String, String, String, String, i64, i64);

fn account_from_row(row: AccountRow) -> Account {
    let (id, naam, wachtwoord, rollen, actief, geblokkeerd_tot_ms) = row;
    Account {
        medewerker: Medewerker {
            id,
            naam,
            rollen: parse_roles(&rollen),
        },
        password_hash: wachtwoord,
        active: actief != 0,
        locked_until: from_millis(geblokkeerd_tot_ms),
    }
}

#[derive(Debug)]
struct SqliteStaff {
    pool: SqlitePool,
}

#[derive(Debug)]
struct PostgresStaff {
    pool: PgPool,
}

macro_rules! staff_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl StaffStore for $store {
            async fn add_account(
                &self,
                id: &str,
                naam: &str,
                password_hash: &str,
                rollen: &[StaffRole],
            ) -> Result<bool, StoreError> {
                let mut insert: QueryBuilder<'_, $db> =
                    QueryBuilder::new("INSERT INTO medewerkers (id, naam, wachtwoord, rollen) VALUES (");
                insert
                    .push_bind(id.to_owned())
                    .push(", ")
                    .push_bind(naam.to_owned())
                    .push(", ")
                    .push_bind(password_hash.to_owned())
                    .push(", ")
                    .push_bind(roles_text(rollen))
                    .push(") ON CONFLICT (id) DO NOTHING");
                Ok(insert.build().execute(&self.pool).await?.rows_affected() == 1)
            }

            async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT id, naam, wachtwoord, rollen, actief, geblokkeerd_tot_ms \
                     FROM medewerkers WHERE id = ",
                );
                select.push_bind(id.to_owned());
                let row: Option<AccountRow> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                Ok(row.map(account_from_row))
            }

            async fn accounts(&self) -> Result<Vec<Medewerker>, StoreError> {
                let rows: Vec<AccountRow> = QueryBuilder::<'_, $db>::new(
                    "SELECT id, naam, wachtwoord, rollen, actief, geblokkeerd_tot_ms \
                     FROM medewerkers WHERE actief = 1 ORDER BY naam",
                )
                .build_query_as()
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|row| account_from_row(row).medewerker)
                    .collect())
            }

            async fn failed_login(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
                let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE medewerkers SET mislukte_pogingen = mislukte_pogingen + 1, \
                     geblokkeerd_tot_ms = CASE WHEN mislukte_pogingen + 1 >= ",
                );
                update
                    .push_bind(MAX_FAILED_LOGINS)
                    .push(" THEN ")
                    .push_bind(millis(now + LOCKOUT))
                    .push(" ELSE geblokkeerd_tot_ms END WHERE id = ")
                    .push_bind(id.to_owned());
                update.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn reset_failures(&self, id: &str) -> Result<(), StoreError> {
                let mut update: QueryBuilder<'_, $db> =
                    QueryBuilder::new("UPDATE medewerkers SET mislukte_pogingen = 0 WHERE id = ");
                update.push_bind(id.to_owned());
                update.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_session(
                &self,
                token_hash: &str,
                medewerker: Option<&str>,
                csrf: &str,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO sessies (token_hash, medewerker, csrf, aangemaakt_ms, laatst_ms) VALUES (",
                );
                insert
                    .push_bind(token_hash.to_owned())
                    .push(", ")
                    .push_bind(medewerker.map(str::to_owned))
                    .push(", ")
                    .push_bind(csrf.to_owned())
                    .push(", ")
                    .push_bind(millis(now))
                    .push(", ")
                    .push_bind(millis(now))
                    .push(")");
                insert.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn touch_session(
                &self,
                token_hash: &str,
                now: OffsetDateTime,
            ) -> Result<Option<Session>, StoreError> {
                let mut update: QueryBuilder<'_, $db> =
                    QueryBuilder::new("UPDATE sessies SET laatst_ms = ");
                update
                    .push_bind(millis(now))
                    .push(" WHERE token_hash = ")
                    .push_bind(token_hash.to_owned())
                    .push(" AND laatst_ms > ")
                    .push_bind(millis(now - IDLE_TIMEOUT))
                    .push(" AND aangemaakt_ms > ")
                    .push_bind(millis(now - ABSOLUTE_TIMEOUT))
                    .push(" RETURNING medewerker, csrf");
                let row: Option<(Option<String>, String)> =
                    update.build_query_as().fetch_optional(&self.pool).await?;
                if row.is_none() {
                    // Expired or unknown: make sure an expired one is gone for good.
                    self.delete_session(token_hash).await?;
                }
                Ok(row.map(|(medewerker, csrf)| Session { medewerker, csrf }))
            }

            async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE token_hash = ");
                delete.push_bind(token_hash.to_owned());
                delete.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_sessions_of(&self, medewerker: &str) -> Result<u64, StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE medewerker = ");
                delete.push_bind(medewerker.to_owned());
                Ok(delete.build().execute(&self.pool).await?.rows_affected())
            }

            async fn delete_expired_sessions(
                &self,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let mut delete: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM sessies WHERE laatst_ms <= ");
                delete
                    .push_bind(millis(now - IDLE_TIMEOUT))
                    .push(" OR aangemaakt_ms <= ")
                    .push_bind(millis(now - ABSOLUTE_TIMEOUT));
                Ok(delete.build().execute(&self.pool).await?.rows_affected())
            }

            async fn save_oidc_login(
                &self,
                state_hash: &str,
                binding_hash: &str,
                nonce: &str,
                verifier: &str,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                // Sign-ins that never came back are cleared as new ones start.
                let mut clear: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM oidc_inlog WHERE aangemaakt_ms < ");
                clear.push_bind(millis(now - OIDC_LOGIN_TIMEOUT));
                clear.build().execute(&self.pool).await?;
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO oidc_inlog (state_hash, binding_hash, nonce, verifier, aangemaakt_ms) ",
                );
                insert.push_values([()], |mut row, ()| {
                    row.push_bind(state_hash.to_owned())
                        .push_bind(binding_hash.to_owned())
                        .push_bind(nonce.to_owned())
                        .push_bind(verifier.to_owned())
                        .push_bind(millis(now));
                });
                insert.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn take_oidc_login(
                &self,
                state_hash: &str,
            ) -> Result<Option<(String, String, String, i64)>, StoreError> {
                let mut take: QueryBuilder<'_, $db> =
                    QueryBuilder::new("DELETE FROM oidc_inlog WHERE state_hash = ");
                take.push_bind(state_hash.to_owned())
                    .push(" RETURNING binding_hash, nonce, verifier, aangemaakt_ms");
                Ok(take.build_query_as().fetch_optional(&self.pool).await?)
            }

            async fn audit(&self, medewerker: &str, actie: &str, now: OffsetDateTime) -> Result<(), StoreError> {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO inlog_audit (medewerker, actie, gezet_ms) VALUES (",
                );
                insert
                    .push_bind(medewerker.to_owned())
                    .push(", ")
                    .push_bind(actie.to_owned())
                    .push(", ")
                    .push_bind(millis(now))
                    .push(")");
                insert.build().execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

mod sqlite {
    use super::*;
    staff_store_impl!(SqliteStaff, Sqlite);
}

mod postgres {
    use super::*;
    staff_store_impl!(PostgresStaff, Postgres);
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The roles column reads back as the roles written, in their order, whatever set
        /// of roles an account has.
        #[test]
        fn the_roles_column_reads_back_as_written(
            picked in proptest::sample::subsequence(loket_zaken::werk::StaffRole::ALL.to_vec(), 0..=4),
        ) {
            proptest::prop_assert_eq!(super::parse_roles(&super::roles_text(&picked)), picked);
        }
    }

    use super::*;

    #[test]
    fn the_stand_in_hash_for_unknown_accounts_is_a_real_argon2id_hash() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(
            Argon2::default()
                .verify_password(b"guess", &parsed)
                .is_err()
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
