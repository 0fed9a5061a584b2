//! Where cases live: one trait, one implementation written once with `QueryBuilder`
//! (`shared.rs`) and instantiated for SQLite and for Postgres, one contract suite run
//! against both (`tests/zaken_contract.rs`). On SQLite the portal's lookups (a
//! resident's cases and letters) and the permit count read through a `SqliteReader` on
//! the request's thread, with the same SQL (`Sql`, `push_filter`).

mod shared;

use std::sync::Arc;

use async_trait::async_trait;
use loket_store::sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{Database, SqliteReader, StoreError, rusqlite};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::berichten::{Bericht, Inbox, Kanaal, NewBericht};
use crate::bijlage::{DocumentInfo, Soort};
use crate::zaak::{
    AuditEntry, Closing, ListOrder, NewRol, NewStatus, NewZaak, Note, Opschorting, Outcome, Page,
    Resultaat, Rol, Status, Termijn, Verlenging, Zaak, ZaakFilter,
};

#[async_trait]
pub trait ZaakStore: Send + Sync + std::fmt::Debug {
    /// The case, its initiator, its first status and any decision, in one transaction.
    async fn create(&self, zaak: &NewZaak, now: OffsetDateTime) -> Result<Zaak, StoreError>;
    /// Many cases at once, in one transaction (migrating from another system, or filling
    /// a benchmark); each as `create` would write it. Returns how many were written.
    async fn import(&self, zaken: &[NewZaak], now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Several cases in one transaction, returned in the order given: all are written or
    /// none is. Applications that arrive together share one commit this way.
    async fn create_all(
        &self,
        zaken: &[NewZaak],
        now: OffsetDateTime,
    ) -> Result<Vec<Zaak>, StoreError>;
    async fn get(&self, uuid: Uuid) -> Result<Option<Zaak>, StoreError>;
    /// Newest first, with the total number that match; without the decision records.
    async fn list(&self, filter: &ZaakFilter) -> Result<Page<Zaak>, StoreError>;
    /// Append a status, with its audit line; `None` when there is no such case.
    /// Concurrent appends each get their own number: none is lost or overwritten.
    async fn add_status(
        &self,
        zaak: Uuid,
        status: &NewStatus,
        audit: &AuditEntry,
    ) -> Result<Option<Status>, StoreError>;
    async fn statuses(&self, zaak: Uuid) -> Result<Vec<Status>, StoreError>;
    async fn status(&self, uuid: Uuid) -> Result<Option<Status>, StoreError>;
    /// Add a role, with its audit line in the same transaction.
    async fn add_role(
        &self,
        zaak: Uuid,
        role: &NewRol,
        audit: &AuditEntry,
    ) -> Result<Option<Rol>, StoreError>;
    async fn roles(&self, zaak: Uuid) -> Result<Vec<Rol>, StoreError>;
    async fn role(&self, uuid: Uuid) -> Result<Option<Rol>, StoreError>;
    /// Set the case's one result; `Ok(None)` when the case has none yet may be set
    /// (no such case, or it already has one).
    async fn set_result(
        &self,
        zaak: Uuid,
        resultaattype: &str,
        toelichting: &str,
        audit: &AuditEntry,
    ) -> Result<Option<Resultaat>, StoreError>;
    async fn result(&self, zaak: Uuid) -> Result<Option<Resultaat>, StoreError>;
    async fn result_by_uuid(&self, uuid: Uuid) -> Result<Option<Resultaat>, StoreError>;
    /// Record (or replace) the decision; false when there is no such case.
    async fn record_decision(
        &self,
        zaak: Uuid,
        outcome: Outcome,
        besluit: &Value,
    ) -> Result<bool, StoreError>;
    /// Make `medewerker` the case's handler (or nobody), if the case is still open; the
    /// audit line is written in the same transaction. False when there is no open case.
    async fn assign(
        &self,
        zaak: Uuid,
        medewerker: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    /// A person's decision closes an open case: decision, status, result and audit line in
    /// one transaction. `None` when there is no such case or it is already closed.
    async fn close(&self, zaak: Uuid, closing: &Closing) -> Result<Option<Zaak>, StoreError>;
    /// Replace the open case's term `from` with `to`, with its audit line; `None` when
    /// the case is gone, closed, or its term is no longer `from` (someone changed it
    /// meanwhile), so a change is never computed from a stale term.
    async fn change_term(
        &self,
        zaak: Uuid,
        from: &Termijn,
        to: &Termijn,
        audit: &AuditEntry,
    ) -> Result<Option<Zaak>, StoreError>;
    /// Add a note (and its audit line); false when there is no such case.
    /// The files kept with the case, oldest first, without their content.
    async fn documents(&self, zaak: Uuid) -> Result<Vec<DocumentInfo>, StoreError>;
    /// One file with its content, if it belongs to this case.
    async fn document(
        &self,
        zaak: Uuid,
        document: Uuid,
    ) -> Result<Option<(DocumentInfo, Vec<u8>)>, StoreError>;
    async fn add_note(&self, zaak: Uuid, note: &Note) -> Result<bool, StoreError>;
    async fn notes(&self, zaak: Uuid) -> Result<Vec<Note>, StoreError>;
    /// Write one audit line on its own (e.g. "viewed"); false when there is no such case.
    async fn record_audit(&self, zaak: Uuid, entry: &AuditEntry) -> Result<bool, StoreError>;
    /// The case's audit trail, oldest first.
    async fn audit_trail(&self, zaak: Uuid) -> Result<Vec<AuditEntry>, StoreError>;
    /// A page of the resident's letters, newest first, with how many there are and how
    /// many of them are unread.
    async fn messages(&self, bsn: &str, page: u32, page_size: u32) -> Result<Inbox, StoreError>;
    /// How many of the resident's letters are unread.
    async fn unread_messages(&self, bsn: &str) -> Result<u64, StoreError>;
    /// One letter, only if it is addressed to `bsn`.
    async fn message(&self, bsn: &str, uuid: Uuid) -> Result<Option<Bericht>, StoreError>;
    /// Mark the letter read (the first time only); false when it is not `bsn`'s.
    async fn mark_read(
        &self,
        bsn: &str,
        uuid: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// How the resident wants letters; `None` when they never said.
    async fn channel(&self, bsn: &str) -> Result<Option<Kanaal>, StoreError>;
    async fn set_channel(
        &self,
        bsn: &str,
        kanaal: Kanaal,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// How many cases of `zaaktype` about `zaakobject` came out as `outcome`.
    async fn count_about(
        &self,
        zaaktype: &str,
        zaakobject: &str,
        outcome: Outcome,
    ) -> Result<u64, StoreError>;
}

pub fn zaak_store(database: &Database) -> Arc<dyn ZaakStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqliteZaken {
            pool: pool.clone(),
            reader: SqliteReader::new(pool),
        }),
        Database::Postgres(pool) => Arc::new(PostgresZaken { pool: pool.clone() }),
    }
}

#[derive(Debug)]
struct SqliteZaken {
    pool: SqlitePool,
    /// A resident's own cases and letters (the portal's every page) and the permit count
    /// per address are read on the request's thread: bounded index lookups.
    reader: SqliteReader,
}

#[derive(Debug)]
struct PostgresZaken {
    pool: PgPool,
}

/// A case's columns, read with `$get` (`try_get` for sqlx, `get` for rusqlite).
macro_rules! zaak_row_from {
    ($row:expr, $get:ident) => {
        ZaakRow {
            seq: $row.$get(0)?,
            uuid: $row.$get(1)?,
            bronorganisatie: $row.$get(2)?,
            zaaktype: $row.$get(3)?,
            omschrijving: $row.$get(4)?,
            registratiedatum: $row.$get(5)?,
            startdatum: $row.$get(6)?,
            einddatum_gepland: $row.$get(7)?,
            uiterlijke_einddatum: $row.$get(8)?,
            einddatum: $row.$get(9)?,
            opschorting: $row.$get(10)?,
            zaakobject: $row.$get(11)?,
            status: $row.$get(12)?,
            status_count: $row.$get(13)?,
            uitkomst: $row.$get(14)?,
            behandelaar: $row.$get(15)?,
            besluit: $row.$get(16)?,
            aangemaakt_ms: $row.$get(17)?,
            status_uuid: $row.$get(18)?,
            resultaat_uuid: $row.$get(19)?,
            opgeschort_sinds: $row.$get(20)?,
            verlenging_reden: $row.$get(21)?,
            verlenging_dagen: $row.$get(22)?,
        }
    };
}

mod sqlite {
    use super::*;
    shared::zaak_store_impl!(SqliteZaken, Sqlite, "BEGIN IMMEDIATE");

    impl SqliteZaken {
        /// A resident's cases, on this thread; `None` for other lists (the workspace's
        /// queue counts every open case, which is no lookup), left to the pool.
        fn read_list(&self, filter: &ZaakFilter) -> Result<Option<Page<Zaak>>, StoreError> {
            if filter.bsn.is_none() {
                return Ok(None);
            }
            let size = i64::from(filter.page_size.max(1));
            let offset = i64::from(filter.page.max(1) - 1) * size;
            let mut select = PlainStatement::default();
            select.sql(&format!(
                "SELECT {LIST_COLUMNS}, count(*) OVER () FROM zaken z"
            ));
            push_filter(&mut select, filter);
            select
                .sql(order_by(filter.order))
                .sql(" LIMIT ")
                .int(size)
                .sql(" OFFSET ")
                .int(offset);
            let (items, total) = self.reader.read(|c| {
                let mut statement = c.prepare_cached(&select.text)?;
                let mut rows = statement.query(rusqlite::params_from_iter(&select.values))?;
                let mut items = Vec::new();
                let mut total = None;
                while let Some(row) = rows.next()? {
                    total = Some(row.get::<_, i64>(ZAAK_COLUMN_COUNT)?);
                    items.push(zaak_row_from!(row, get).into_zaak()?);
                }
                Ok((items, total))
            })?;
            let total = match total {
                Some(total) => total,
                None if offset == 0 => 0,
                // Past the last page: count on its own.
                None => {
                    let mut count = PlainStatement::default();
                    count.sql("SELECT count(*) FROM zaken z");
                    push_filter(&mut count, filter);
                    self.reader.read(|c| {
                        let mut statement = c.prepare_cached(&count.text)?;
                        Ok(statement
                            .query_row(rusqlite::params_from_iter(&count.values), |r| r.get(0))?)
                    })?
                }
            };
            Ok(Some(Page {
                items,
                total: u64::try_from(total).unwrap_or_default(),
            }))
        }

        fn read_inbox(
            &self,
            bsn: &str,
            page: u32,
            page_size: u32,
        ) -> Result<Option<Inbox>, StoreError> {
            let size = i64::from(page_size.max(1));
            let offset = i64::from(page.max(1) - 1) * size;
            let inbox = self.reader.read(|c| {
                // The page, the total and the unread count in one statement.
                let mut select = c.prepare_cached(&format!(
                    "SELECT {BERICHT_COLUMNS}, count(*) OVER (), \
                     sum(CASE WHEN b.gelezen_ms IS NULL THEN 1 ELSE 0 END) OVER () \
                     FROM berichten b WHERE b.bsn = ?1 ORDER BY b.id DESC LIMIT ?2 OFFSET ?3"
                ))?;
                let mut rows = select.query(rusqlite::params![bsn, size, offset])?;
                let mut items = Vec::new();
                let mut counts = None;
                while let Some(row) = rows.next()? {
                    counts = Some((row.get::<_, i64>(8)?, row.get::<_, i64>(9)?));
                    items.push(bericht_from_row((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                    ))?);
                }
                let (total, unread) = match counts {
                    Some(counts) => counts,
                    None if offset == 0 => (0, 0),
                    // Past the last page: count on their own.
                    None => {
                        let mut count = c.prepare_cached(
                            "SELECT count(*), sum(CASE WHEN gelezen_ms IS NULL THEN 1 ELSE 0 END) \
                             FROM berichten WHERE bsn = ?1",
                        )?;
                        count.query_row([bsn], |r| {
                            Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or_default()))
                        })?
                    }
                };
                Ok(Inbox {
                    items,
                    total: u64::try_from(total).unwrap_or_default(),
                    unread: u64::try_from(unread).unwrap_or_default(),
                })
            })?;
            Ok(Some(inbox))
        }

        /// Permits at an address (every decision asks): the `zaken_object` index.
        fn read_count_about(
            &self,
            zaaktype: &str,
            zaakobject: &str,
            outcome: Outcome,
        ) -> Result<Option<u64>, StoreError> {
            let n: i64 = self.reader.read(|c| {
                let mut count = c.prepare_cached(
                    "SELECT count(*) FROM zaken \
                     WHERE zaaktype = ?1 AND zaakobject = ?2 AND uitkomst = ?3",
                )?;
                Ok(count.query_row([zaaktype, zaakobject, outcome.as_str()], |r| r.get(0))?)
            })?;
            Ok(Some(u64::try_from(n).unwrap_or_default()))
        }
    }
}

mod postgres {
    use super::*;
    shared::zaak_store_impl!(PostgresZaken, Postgres, "BEGIN");

    /// Postgres is asked over the network: every read goes through the pool.
    impl PostgresZaken {
        #[expect(
            clippy::unused_self,
            clippy::unnecessary_wraps,
            reason = "the SQLite store's shape"
        )]
        fn read_list(&self, _filter: &ZaakFilter) -> Result<Option<Page<Zaak>>, StoreError> {
            Ok(None)
        }

        #[expect(
            clippy::unused_self,
            clippy::unnecessary_wraps,
            reason = "the SQLite store's shape"
        )]
        fn read_inbox(&self, _: &str, _: u32, _: u32) -> Result<Option<Inbox>, StoreError> {
            Ok(None)
        }

        #[expect(
            clippy::unused_self,
            clippy::unnecessary_wraps,
            reason = "the SQLite store's shape"
        )]
        fn read_count_about(
            &self,
            _: &str,
            _: &str,
            _: Outcome,
        ) -> Result<Option<u64>, StoreError> {
            Ok(None)
        }
    }
}

/// A case's columns from `zaken z`, with its newest status and its result (both by their
/// unique indexes), so a page of cases is one query.
const ZAAK_COLUMNS: &str = "z.seq, z.uuid, z.bronorganisatie, z.zaaktype, z.omschrijving, \
     z.registratiedatum, z.startdatum, z.einddatum_gepland, z.uiterlijke_einddatum, z.einddatum, \
     z.opschorting, z.zaakobject, z.status, z.status_count, z.uitkomst, z.behandelaar, z.besluit, \
     z.aangemaakt_ms, \
     (SELECT s.uuid FROM statussen s WHERE s.zaak_seq = z.seq AND s.volgnummer = z.status_count), \
     (SELECT r.uuid FROM resultaten r WHERE r.zaak_seq = z.seq), \
     z.opgeschort_sinds, z.verlenging_reden, z.verlenging_dagen";
/// The same for a list, without the decision record (kilobytes per case that no list
/// shows; `get` reads it).
const LIST_COLUMNS: &str = "z.seq, z.uuid, z.bronorganisatie, z.zaaktype, z.omschrijving, \
     z.registratiedatum, z.startdatum, z.einddatum_gepland, z.uiterlijke_einddatum, z.einddatum, \
     z.opschorting, z.zaakobject, z.status, z.status_count, z.uitkomst, z.behandelaar, CAST(NULL AS TEXT), \
     z.aangemaakt_ms, \
     (SELECT s.uuid FROM statussen s WHERE s.zaak_seq = z.seq AND s.volgnummer = z.status_count), \
     (SELECT r.uuid FROM resultaten r WHERE r.zaak_seq = z.seq), \
     z.opgeschort_sinds, z.verlenging_reden, z.verlenging_dagen";
const DOCUMENT_COLUMNS: &str =
    "d.uuid, d.naam, d.bestandsnaam, d.soort, d.grootte, d.sha256, d.toegevoegd_ms";

/// How many columns the two lists above have: a list's total comes after them.
const ZAAK_COLUMN_COUNT: usize = 23;
const STATUS_COLUMNS: &str =
    "s.uuid, z.uuid AS zaak_uuid, s.volgnummer, s.statustype, s.gezet_ms, s.actor, s.toelichting";
const ROL_COLUMNS: &str = "r.uuid, z.uuid AS zaak_uuid, r.omschrijving_generiek, r.betrokkene_type, r.bsn, r.medewerker, r.roltoelichting";
const RESULTAAT_COLUMNS: &str = "r.uuid, z.uuid AS zaak_uuid, r.resultaattype, r.toelichting";

/// Cases per multi-row statement: well under both backends' limit on bound values.
const CASES_PER_STATEMENT: usize = 1000;

fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

/// `JJJJ-MM-DD`, so that dates sort as text. The edges take years 0 to 9999 only; a
/// year before 0, should one come in another way, is written so that it still reads
/// back (though it does not sort).
fn date_text(date: Date) -> String {
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    let sign = if year < 0 { "-" } else { "" };
    format!("{sign}{:04}-{month:02}-{day:02}", year.unsigned_abs())
}

fn parse_date(text: &str) -> Result<Date, StoreError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|_| corrupt("date", text))
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| corrupt("uuid", text))
}

fn millis(moment: OffsetDateTime) -> i64 {
    i64::try_from(moment.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| corrupt("moment", ms))
}

/// A case's columns as read, before they are checked.
struct ZaakRow {
    seq: i64,
    uuid: String,
    bronorganisatie: String,
    zaaktype: String,
    omschrijving: String,
    registratiedatum: String,
    startdatum: String,
    einddatum_gepland: String,
    uiterlijke_einddatum: String,
    einddatum: Option<String>,
    opschorting: Option<String>,
    zaakobject: Option<String>,
    status: Option<String>,
    status_count: i64,
    uitkomst: Option<String>,
    behandelaar: Option<String>,
    besluit: Option<String>,
    aangemaakt_ms: i64,
    status_uuid: Option<String>,
    resultaat_uuid: Option<String>,
    opgeschort_sinds: Option<String>,
    verlenging_reden: Option<String>,
    verlenging_dagen: Option<i64>,
}

impl ZaakRow {
    fn into_zaak(self) -> Result<Zaak, StoreError> {
        let registratiedatum = parse_date(&self.registratiedatum)?;
        Ok(Zaak {
            uuid: parse_uuid(&self.uuid)?,
            identificatie: crate::zaak::identificatie(registratiedatum.year(), self.seq),
            bronorganisatie: self.bronorganisatie,
            zaaktype: self.zaaktype,
            omschrijving: self.omschrijving,
            registratiedatum,
            startdatum: parse_date(&self.startdatum)?,
            einddatum_gepland: parse_date(&self.einddatum_gepland)?,
            uiterlijke_einddatum_afdoening: parse_date(&self.uiterlijke_einddatum)?,
            einddatum: self.einddatum.as_deref().map(parse_date).transpose()?,
            opschorting: match (self.opschorting, self.opgeschort_sinds) {
                (Some(reden), Some(sinds)) => Some(Opschorting {
                    reden,
                    sinds: parse_date(&sinds)?,
                }),
                _ => None,
            },
            verlenging: match (self.verlenging_reden, self.verlenging_dagen) {
                (Some(reden), Some(dagen)) => Some(Verlenging {
                    reden,
                    dagen: u16::try_from(dagen).map_err(|_| corrupt("verlenging", dagen))?,
                }),
                _ => None,
            },
            zaakobject: self.zaakobject,
            status: self.status,
            status_count: self.status_count,
            uitkomst: self
                .uitkomst
                .map(|u| Outcome::parse(&u).ok_or_else(|| corrupt("uitkomst", &u)))
                .transpose()?,
            behandelaar: self.behandelaar,
            besluit: self
                .besluit
                .map(|b| serde_json::from_str(&b).map_err(|e| corrupt("besluit", e)))
                .transpose()?,
            aangemaakt: from_millis(self.aangemaakt_ms)?,
            status_uuid: self.status_uuid.as_deref().map(parse_uuid).transpose()?,
            resultaat_uuid: self.resultaat_uuid.as_deref().map(parse_uuid).transpose()?,
        })
    }
}

type StatusRow = (String, String, i64, String, i64, String, String);
type RolRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);
type DocumentRow = (String, String, String, String, i64, String, i64);

fn document_from_row(row: DocumentRow) -> Result<DocumentInfo, StoreError> {
    let (uuid, naam, bestandsnaam, soort, grootte, sha256, ms) = row;
    Ok(DocumentInfo {
        uuid: parse_uuid(&uuid)?,
        naam,
        bestandsnaam,
        soort: Soort::parse(&soort).ok_or_else(|| corrupt("soort", &soort))?,
        grootte: u64::try_from(grootte).map_err(|_| corrupt("grootte", grootte))?,
        sha256,
        toegevoegd: from_millis(ms)?,
    })
}

type AuditRow = (String, String, String, i64);
type ResultaatRow = (String, String, String, String);

fn status_from_row(row: StatusRow) -> Result<Status, StoreError> {
    let (uuid, zaak, volgnummer, statustype, gezet_ms, actor, toelichting) = row;
    Ok(Status {
        uuid: parse_uuid(&uuid)?,
        zaak: parse_uuid(&zaak)?,
        volgnummer,
        statustype,
        datum_status_gezet: from_millis(gezet_ms)?,
        actor,
        toelichting,
    })
}

fn rol_from_row(row: RolRow) -> Result<Rol, StoreError> {
    let (uuid, zaak, omschrijving_generiek, betrokkene_type, bsn, medewerker, roltoelichting) = row;
    Ok(Rol {
        uuid: parse_uuid(&uuid)?,
        zaak: parse_uuid(&zaak)?,
        omschrijving_generiek,
        betrokkene_type,
        bsn,
        medewerker,
        roltoelichting,
    })
}

type BerichtRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

/// A letter's columns and the inbox's total and unread counts.
type InboxRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    i64,
);

/// A letter's columns from `berichten b`, with its case's uuid.
const BERICHT_COLUMNS: &str = "b.uuid, (SELECT z.uuid FROM zaken z WHERE z.seq = b.zaak_seq), \
     b.onderwerp_nl, b.onderwerp_en, b.tekst_nl, b.tekst_en, b.verzonden_ms, b.gelezen_ms";

fn bericht_from_row(row: BerichtRow) -> Result<Bericht, StoreError> {
    use crate::catalogue::Text;
    let (uuid, zaak, onderwerp_nl, onderwerp_en, tekst_nl, tekst_en, verzonden, gelezen) = row;
    Ok(Bericht {
        uuid: parse_uuid(&uuid)?,
        zaak: zaak.as_deref().map(parse_uuid).transpose()?,
        onderwerp: Text {
            nl: onderwerp_nl,
            en: onderwerp_en,
        },
        tekst: Text {
            nl: tekst_nl,
            en: tekst_en,
        },
        verzonden: from_millis(verzonden)?,
        gelezen: gelezen.map(from_millis).transpose()?,
    })
}

fn audit_from_row(row: AuditRow) -> Result<AuditEntry, StoreError> {
    let (actor, actie, toelichting, gezet_ms) = row;
    Ok(AuditEntry {
        actor,
        actie,
        toelichting,
        moment: from_millis(gezet_ms)?,
    })
}

fn resultaat_from_row(row: ResultaatRow) -> Result<Resultaat, StoreError> {
    let (uuid, zaak, resultaattype, toelichting) = row;
    Ok(Resultaat {
        uuid: parse_uuid(&uuid)?,
        zaak: parse_uuid(&zaak)?,
        resultaattype,
        toelichting,
    })
}

fn order_by(order: ListOrder) -> &'static str {
    match order {
        ListOrder::Newest => " ORDER BY z.seq DESC",
        ListOrder::Deadline => " ORDER BY z.einddatum_gepland, z.seq",
    }
}

/// A statement being written: a sqlx `QueryBuilder`, or a [`PlainStatement`] for a read
/// on the caller's thread, so each piece of SQL is written once for both.
trait Sql {
    fn sql(&mut self, text: &str) -> &mut Self;
    fn text(&mut self, value: String) -> &mut Self;
    fn int(&mut self, value: i64) -> &mut Self;
}

impl<DB: loket_store::sqlx::Database> Sql for QueryBuilder<'_, DB>
where
    for<'q> String: loket_store::sqlx::Encode<'q, DB> + loket_store::sqlx::Type<DB>,
    for<'q> i64: loket_store::sqlx::Encode<'q, DB> + loket_store::sqlx::Type<DB>,
{
    fn sql(&mut self, text: &str) -> &mut Self {
        self.push(text)
    }
    fn text(&mut self, value: String) -> &mut Self {
        self.push_bind(value)
    }
    fn int(&mut self, value: i64) -> &mut Self {
        self.push_bind(value)
    }
}

/// SQLite text with `?` placeholders and the values that fill them, in order.
#[derive(Debug, Default)]
struct PlainStatement {
    text: String,
    values: Vec<rusqlite::types::Value>,
}

impl Sql for PlainStatement {
    fn sql(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn text(&mut self, value: String) -> &mut Self {
        self.text.push('?');
        self.values.push(rusqlite::types::Value::Text(value));
        self
    }
    fn int(&mut self, value: i64) -> &mut Self {
        self.text.push('?');
        self.values.push(rusqlite::types::Value::Integer(value));
        self
    }
}

/// The filter's conditions, appended to a query that has `FROM zaken z`.
fn push_filter(query: &mut impl Sql, filter: &ZaakFilter) {
    query.sql(" WHERE 1 = 1");
    if let Some(bsn) = &filter.bsn {
        query
            .sql(" AND z.seq IN (SELECT zaak_seq FROM rollen WHERE bsn = ")
            .text(bsn.clone())
            .sql(")");
    }
    // With a resident given, their roles must drive the query. `zaaktype || ''` keeps
    // SQLite's planner (which has no statistics on a young database) from scanning the
    // zaaktype index instead: nearly every case shares a handful of zaaktypen.
    let zaaktype = if filter.bsn.is_some() {
        "(z.zaaktype || '')"
    } else {
        "z.zaaktype"
    };
    if let Some(wanted) = &filter.zaaktype {
        query
            .sql(&format!(" AND {zaaktype} = "))
            .text(wanted.clone());
    }
    if let Some(zaaktypen) = &filter.zaaktypen {
        if zaaktypen.is_empty() {
            query.sql(" AND 1 = 0");
        } else {
            query.sql(&format!(" AND {zaaktype} IN ("));
            for (i, zaaktype) in zaaktypen.iter().enumerate() {
                if i > 0 {
                    query.sql(", ");
                }
                query.text(zaaktype.clone());
            }
            query.sql(")");
        }
    }
    if let Some(status) = &filter.status {
        query.sql(" AND z.status = ").text(status.clone());
    }
    if let Some(outcome) = filter.uitkomst {
        query
            .sql(" AND z.uitkomst = ")
            .text(outcome.as_str().to_owned());
    }
    match filter.open {
        Some(true) => _ = query.sql(" AND z.einddatum IS NULL"),
        Some(false) => _ = query.sql(" AND z.einddatum IS NOT NULL"),
        None => {}
    }
    if let Some(behandelaar) = &filter.behandelaar {
        query.sql(" AND z.behandelaar = ").text(behandelaar.clone());
    }
    if let Some(due_by) = filter.due_by {
        // A suspended case is not running late: its clock has stopped.
        query
            .sql(" AND z.opschorting IS NULL AND z.einddatum_gepland <= ")
            .text(date_text(due_by));
    }
    if let Some(identificatie) = &filter.identificatie {
        // Not an identificatie of ours: matches nothing (-1 is never a seq). The year is
        // the registration's: ZAAK-1999-… is not ZAAK-2026-… with the same number.
        let (year, seq) = crate::zaak::parse_identificatie(identificatie).unwrap_or((0, -1));
        query
            .sql(" AND z.seq = ")
            .int(seq)
            .sql(" AND z.registratiedatum >= ")
            .text(format!("{year:04}-01-01"))
            .sql(" AND z.registratiedatum <= ")
            .text(format!("{year:04}-12-31"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn any_date() -> impl Strategy<Value = Date> {
        (Date::MIN.to_julian_day()..=Date::MAX.to_julian_day())
            .prop_map(|day| Date::from_julian_day(day).unwrap())
    }

    fn uuid_text() -> impl Strategy<Value = String> {
        any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string())
    }

    /// A column as the store writes it (mostly), or anything.
    fn column(written: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        prop_oneof![
            8 => written,
            1 => ".{0,40}",
            1 => "[0-9-]{0,12}",
        ]
    }

    proptest! {
        /// What the stores write, they read back as itself: every date, moment (to the
        /// millisecond), uuid and outcome.
        #[test]
        fn a_stored_value_reads_back_as_itself(
            date in any_date(),
            ms in -377_705_116_800_000i64..=253_402_300_799_999,
            uuid in any::<u128>(),
        ) {
            prop_assert_eq!(parse_date(&date_text(date)).unwrap(), date);
            prop_assert_eq!(millis(from_millis(ms).unwrap()), ms);
            let uuid = Uuid::from_u128(uuid);
            prop_assert_eq!(parse_uuid(&uuid.to_string()).unwrap(), uuid);
        }

        /// A row a person or another program wrote reads as a case exactly when every
        /// column that is checked holds what the store writes; otherwise as a corrupt
        /// row naming the column. Never a panic.
        #[test]
        fn any_row_reads_as_a_case_or_says_what_is_corrupt(
            uuids in proptest::collection::vec(column(uuid_text()), 3),
            dates in proptest::collection::vec(column(any_date().prop_map(date_text)), 6),
            uitkomst in column(proptest::sample::select(vec!["toegekend", "afgewezen"]).prop_map(str::to_owned)),
            present in proptest::collection::vec(any::<bool>(), 6),
            aangemaakt_ms in prop_oneof![Just(1_796_000_000_000i64), any::<i64>()],
            dagen in prop_oneof![0i64..=365, any::<i64>()],
            seq in any::<i64>(),
        ) {
            let some = |i: usize, value: &String| present[i].then(|| value.clone());
            let row = ZaakRow {
                seq,
                uuid: uuids[0].clone(),
                bronorganisatie: "123456782".to_owned(),
                zaaktype: "bewonersparkeervergunning".to_owned(),
                omschrijving: "Aanvraag".to_owned(),
                registratiedatum: dates[0].clone(),
                startdatum: dates[1].clone(),
                einddatum_gepland: dates[2].clone(),
                uiterlijke_einddatum: dates[3].clone(),
                einddatum: some(0, &dates[4]),
                opschorting: present[1].then(|| "Wacht op advies".to_owned()),
                zaakobject: None,
                status: None,
                status_count: 0,
                uitkomst: some(2, &uitkomst),
                behandelaar: None,
                besluit: None,
                aangemaakt_ms,
                status_uuid: some(3, &uuids[1]),
                resultaat_uuid: some(4, &uuids[2]),
                opgeschort_sinds: some(5, &dates[5]),
                verlenging_reden: present[1].then(|| "Advies".to_owned()),
                verlenging_dagen: Some(dagen),
            };
            let date = |text: &String| parse_date(text).is_ok();
            let good = Uuid::parse_str(&uuids[0]).is_ok()
                && dates[..4].iter().all(date)
                && (!present[0] || date(&dates[4]))
                && (!(present[1] && present[5]) || date(&dates[5]))
                && (!present[1] || u16::try_from(dagen).is_ok())
                && (!present[2] || Outcome::parse(&uitkomst).is_some())
                && from_millis(aangemaakt_ms).is_ok()
                && (!present[3] || Uuid::parse_str(&uuids[1]).is_ok())
                && (!present[4] || Uuid::parse_str(&uuids[2]).is_ok());
            match row.into_zaak() {
                Ok(zaak) => {
                    prop_assert!(good);
                    prop_assert_eq!(zaak.uuid, Uuid::parse_str(&uuids[0]).unwrap());
                    prop_assert_eq!(date_text(zaak.registratiedatum), dates[0].clone());
                }
                Err(StoreError::Corrupt(what)) => prop_assert!(!good, "{what}"),
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
    }
}
