//! The one implementation of [`ZaakStore`](super::ZaakStore), for any backend whose
//! pool is `self.pool`: every statement is built with `QueryBuilder`, which writes each
//! backend's placeholders, so the SQL text is the same for SQLite and Postgres.
//!
//! Every transaction here writes, and begins with `$begin`: on SQLite `BEGIN IMMEDIATE`,
//! which takes the write lock at once and waits for it. A deferred transaction that read
//! first cannot wait when another connection writes: SQLite refuses it at once ("database
//! is locked"), and two employees saving at the same moment would get an error.

macro_rules! zaak_store_impl {
    ($store:ty, $db:ty, $begin:expr) => {
        #[async_trait]
        impl ZaakStore for $store {
            async fn create(&self, zaak: &NewZaak, now: OffsetDateTime) -> Result<Zaak, StoreError> {
                self.create_all(std::slice::from_ref(zaak), now)
                    .await?
                    .pop()
                    .ok_or_else(|| corrupt("a case just created is gone", "create"))
            }

            async fn create_all(
                &self,
                zaken: &[NewZaak],
                now: OffsetDateTime,
            ) -> Result<Vec<Zaak>, StoreError> {
                if zaken.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, &NewZaak)> = zaken
                    .iter()
                    .map(|zaak| (Uuid::now_v7().to_string(), zaak))
                    .collect();
                let mut tx = self.pool.begin_with($begin).await?;
                for chunk in rows.chunks(CASES_PER_STATEMENT) {
                    insert_cases(&mut tx, chunk, now).await?;
                }
                tx.commit().await?;
                let mut created = std::collections::HashMap::with_capacity(rows.len());
                for chunk in rows.chunks(CASES_PER_STATEMENT) {
                    let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                        "SELECT {ZAAK_COLUMNS} FROM zaken z WHERE z.uuid IN ("
                    ));
                    let mut list = select.separated(", ");
                    for (uuid, _) in chunk {
                        list.push_bind(uuid.clone());
                    }
                    select.push(")");
                    for row in select.build().fetch_all(&self.pool).await? {
                        let zaak = zaak_row(&row)?.into_zaak()?;
                        created.insert(zaak.uuid.to_string(), zaak);
                    }
                }
                rows.iter()
                    .map(|(uuid, _)| {
                        created
                            .remove(uuid)
                            .ok_or_else(|| corrupt("a case just created is gone", uuid))
                    })
                    .collect()
            }

            async fn import(&self, zaken: &[NewZaak], now: OffsetDateTime) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                for chunk in zaken.chunks(CASES_PER_STATEMENT) {
                    let rows: Vec<(String, &NewZaak)> = chunk
                        .iter()
                        .map(|zaak| (Uuid::now_v7().to_string(), zaak))
                        .collect();
                    insert_cases(&mut tx, &rows, now).await?;
                }
                tx.commit().await?;
                Ok(u64::try_from(zaken.len()).unwrap_or(u64::MAX))
            }

            async fn get(&self, uuid: Uuid) -> Result<Option<Zaak>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new(format!("SELECT {ZAAK_COLUMNS} FROM zaken z WHERE z.uuid = "));
                select.push_bind(uuid.to_string());
                let row = select.build().fetch_optional(&self.pool).await?;
                row.map(|row| zaak_row(&row)?.into_zaak()).transpose()
            }

            async fn list(&self, filter: &ZaakFilter) -> Result<Page<Zaak>, StoreError> {
                use loket_store::sqlx::Row;
                if let Some(page) = self.read_list(filter)? {
                    return Ok(page);
                }
                let size = i64::from(filter.page_size.max(1));
                let offset = i64::from(filter.page.max(1) - 1) * size;
                // The page and the total in one statement: the window counts every match.
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {LIST_COLUMNS}, count(*) OVER () FROM zaken z"
                ));
                push_filter(&mut select, filter);
                select
                    .push(order_by(filter.order))
                    .push(" LIMIT ")
                    .push_bind(size)
                    .push(" OFFSET ")
                    .push_bind(offset);
                let rows = select.build().fetch_all(&self.pool).await?;
                let total: i64 = match rows.first() {
                    Some(row) => row.try_get(ZAAK_COLUMN_COUNT)?,
                    None if offset == 0 => 0,
                    // Past the last page: count on its own.
                    None => {
                        let mut count: QueryBuilder<'_, $db> =
                            QueryBuilder::new("SELECT count(*) FROM zaken z");
                        push_filter(&mut count, filter);
                        let (total,): (i64,) = count.build_query_as().fetch_one(&self.pool).await?;
                        total
                    }
                };
                let items = rows
                    .iter()
                    .map(|row| zaak_row(row)?.into_zaak())
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: u64::try_from(total).unwrap_or_default(),
                })
            }

            async fn add_status(
                &self,
                zaak: Uuid,
                status: &NewStatus,
                audit: &AuditEntry,
            ) -> Result<Option<Status>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                // The update takes the case's row (Postgres) or the write lock (SQLite)
                // first, so concurrent appends queue up and each gets the next number.
                let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE zaken SET status_count = status_count + 1, status = ",
                );
                update.push_bind(status.statustype.clone());
                if status.statustype == crate::zaak::statustype::AFGEHANDELD {
                    update
                        .push(", einddatum = ")
                        .push_bind(date_text(crate::zaak::end_date(status.datum_status_gezet)));
                }
                update
                    .push(" WHERE uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" RETURNING seq, status_count");
                let Some((seq, number)): Option<(i64, i64)> =
                    update.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(None);
                };
                let uuid = insert_status(&mut tx, seq, number, status).await?;
                insert_audit(&mut tx, seq, audit).await?;
                tx.commit().await?;
                Ok(Some(Status {
                    uuid,
                    zaak,
                    volgnummer: number,
                    statustype: status.statustype.clone(),
                    datum_status_gezet: status.datum_status_gezet,
                    actor: status.actor.clone(),
                    toelichting: status.toelichting.clone(),
                }))
            }

            async fn statuses(&self, zaak: Uuid) -> Result<Vec<Status>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {STATUS_COLUMNS} FROM statussen s JOIN zaken z ON z.seq = s.zaak_seq WHERE z.uuid = "
                ));
                select.push_bind(zaak.to_string()).push(" ORDER BY s.volgnummer");
                let rows: Vec<StatusRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(status_from_row).collect()
            }

            async fn status(&self, uuid: Uuid) -> Result<Option<Status>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {STATUS_COLUMNS} FROM statussen s JOIN zaken z ON z.seq = s.zaak_seq WHERE s.uuid = "
                ));
                select.push_bind(uuid.to_string());
                let row: Option<StatusRow> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(status_from_row).transpose()
            }

            async fn add_role(
                &self,
                zaak: Uuid,
                role: &NewRol,
                audit: &AuditEntry,
            ) -> Result<Option<Rol>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT seq FROM zaken WHERE uuid = ");
                select.push_bind(zaak.to_string());
                let Some((seq,)): Option<(i64,)> =
                    select.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(None);
                };
                let uuid = insert_role(&mut tx, seq, role).await?;
                insert_audit(&mut tx, seq, audit).await?;
                tx.commit().await?;
                Ok(Some(Rol {
                    uuid,
                    zaak,
                    omschrijving_generiek: role.omschrijving_generiek.clone(),
                    betrokkene_type: role.betrokkene_type.clone(),
                    bsn: role.bsn.clone(),
                    medewerker: role.medewerker.clone(),
                    roltoelichting: role.roltoelichting.clone(),
                }))
            }

            async fn roles(&self, zaak: Uuid) -> Result<Vec<Rol>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {ROL_COLUMNS} FROM rollen r JOIN zaken z ON z.seq = r.zaak_seq WHERE z.uuid = "
                ));
                select.push_bind(zaak.to_string()).push(" ORDER BY r.uuid");
                let rows: Vec<RolRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(rol_from_row).collect()
            }

            async fn role(&self, uuid: Uuid) -> Result<Option<Rol>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {ROL_COLUMNS} FROM rollen r JOIN zaken z ON z.seq = r.zaak_seq WHERE r.uuid = "
                ));
                select.push_bind(uuid.to_string());
                let row: Option<RolRow> = select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(rol_from_row).transpose()
            }

            async fn set_result(
                &self,
                zaak: Uuid,
                resultaattype: &str,
                toelichting: &str,
                audit: &AuditEntry,
            ) -> Result<Option<Resultaat>, StoreError> {
                let uuid = Uuid::now_v7();
                let mut tx = self.pool.begin_with($begin).await?;
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO resultaten (uuid, zaak_seq, resultaattype, toelichting) SELECT ",
                );
                insert
                    .push_bind(uuid.to_string())
                    .push(", seq, ")
                    .push_bind(resultaattype.to_owned())
                    .push(", ")
                    .push_bind(toelichting.to_owned())
                    .push(" FROM zaken WHERE uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" ON CONFLICT (zaak_seq) DO NOTHING RETURNING zaak_seq");
                let Some((seq,)): Option<(i64,)> =
                    insert.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(None);
                };
                insert_audit(&mut tx, seq, audit).await?;
                tx.commit().await?;
                Ok(Some(Resultaat {
                    uuid,
                    zaak,
                    resultaattype: resultaattype.to_owned(),
                    toelichting: toelichting.to_owned(),
                }))
            }

            async fn result(&self, zaak: Uuid) -> Result<Option<Resultaat>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {RESULTAAT_COLUMNS} FROM resultaten r JOIN zaken z ON z.seq = r.zaak_seq WHERE z.uuid = "
                ));
                select.push_bind(zaak.to_string());
                let row: Option<ResultaatRow> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(resultaat_from_row).transpose()
            }

            async fn result_by_uuid(&self, uuid: Uuid) -> Result<Option<Resultaat>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {RESULTAAT_COLUMNS} FROM resultaten r JOIN zaken z ON z.seq = r.zaak_seq WHERE r.uuid = "
                ));
                select.push_bind(uuid.to_string());
                let row: Option<ResultaatRow> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(resultaat_from_row).transpose()
            }

            async fn record_decision(
                &self,
                zaak: Uuid,
                outcome: Outcome,
                besluit: &Value,
            ) -> Result<bool, StoreError> {
                let mut update: QueryBuilder<'_, $db> =
                    QueryBuilder::new("UPDATE zaken SET uitkomst = ");
                update
                    .push_bind(outcome.as_str().to_owned())
                    .push(", besluit = ")
                    .push_bind(besluit.to_string())
                    .push(" WHERE uuid = ")
                    .push_bind(zaak.to_string());
                Ok(update.build().execute(&self.pool).await?.rows_affected() == 1)
            }

            async fn assign(
                &self,
                zaak: Uuid,
                medewerker: Option<&str>,
                audit: &AuditEntry,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut update: QueryBuilder<'_, $db> =
                    QueryBuilder::new("UPDATE zaken SET behandelaar = ");
                update
                    .push_bind(medewerker.map(str::to_owned))
                    .push(" WHERE einddatum IS NULL AND uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" RETURNING seq");
                let Some((seq,)): Option<(i64,)> =
                    update.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(false);
                };
                insert_audit(&mut tx, seq, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn close(&self, zaak: Uuid, closing: &Closing) -> Result<Option<Zaak>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE zaken SET status_count = status_count + 1, status = ",
                );
                update
                    .push_bind(closing.status.statustype.clone())
                    .push(", einddatum = ")
                    .push_bind(date_text(crate::zaak::end_date(closing.status.datum_status_gezet)))
                    .push(", uitkomst = ")
                    .push_bind(closing.outcome.as_str().to_owned())
                    .push(", besluit = ")
                    .push_bind(closing.besluit.to_string())
                    .push(" WHERE einddatum IS NULL AND uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" RETURNING seq, status_count");
                let Some((seq, number)): Option<(i64, i64)> =
                    update.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(None);
                };
                insert_status(&mut tx, seq, number, &closing.status).await?;
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO resultaten (uuid, zaak_seq, resultaattype, toelichting) ",
                );
                insert.push_values([closing], |mut row, closing| {
                    row.push_bind(Uuid::now_v7().to_string())
                        .push_bind(seq)
                        .push_bind(closing.outcome.as_str().to_owned())
                        .push_bind(closing.resultaat_toelichting.clone());
                });
                insert.build().execute(&mut *tx).await?;
                insert_audit(&mut tx, seq, &closing.audit).await?;
                if let Some(bericht) = &closing.bericht {
                    insert_bericht(&mut tx, seq, bericht, closing.audit.moment).await?;
                }
                tx.commit().await?;
                self.get(zaak).await
            }

            async fn change_term(
                &self,
                zaak: Uuid,
                from: &Termijn,
                to: &Termijn,
                audit: &AuditEntry,
            ) -> Result<Option<Zaak>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut update: QueryBuilder<'_, $db> =
                    QueryBuilder::new("UPDATE zaken SET einddatum_gepland = ");
                update
                    .push_bind(date_text(to.einddatum_gepland))
                    .push(", uiterlijke_einddatum = ")
                    .push_bind(date_text(to.uiterlijke_einddatum_afdoening))
                    .push(", opschorting = ")
                    .push_bind(to.opschorting.as_ref().map(|o| o.reden.clone()))
                    .push(", opgeschort_sinds = ")
                    .push_bind(to.opschorting.as_ref().map(|o| date_text(o.sinds)))
                    .push(", verlenging_reden = ")
                    .push_bind(to.verlenging.as_ref().map(|v| v.reden.clone()))
                    .push(", verlenging_dagen = ")
                    .push_bind(to.verlenging.as_ref().map(|v| i64::from(v.dagen)))
                    .push(" WHERE einddatum IS NULL AND uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" AND einddatum_gepland = ")
                    .push_bind(date_text(from.einddatum_gepland))
                    .push(" AND uiterlijke_einddatum = ")
                    .push_bind(date_text(from.uiterlijke_einddatum_afdoening));
                match &from.opschorting {
                    Some(o) => _ = update.push(" AND opgeschort_sinds = ").push_bind(date_text(o.sinds)),
                    None => _ = update.push(" AND opschorting IS NULL"),
                }
                match &from.verlenging {
                    Some(v) => _ = update.push(" AND verlenging_dagen = ").push_bind(i64::from(v.dagen)),
                    None => _ = update.push(" AND verlenging_dagen IS NULL"),
                }
                update.push(" RETURNING seq");
                let Some((seq,)): Option<(i64,)> =
                    update.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(None);
                };
                insert_audit(&mut tx, seq, audit).await?;
                tx.commit().await?;
                self.get(zaak).await
            }

            async fn documents(&self, zaak: Uuid) -> Result<Vec<DocumentInfo>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM documenten d JOIN zaken z ON z.seq = d.zaak_seq WHERE z.uuid = "
                ));
                select.push_bind(zaak.to_string()).push(" ORDER BY d.id");
                let rows: Vec<DocumentRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(document_from_row).collect()
            }

            async fn document(
                &self,
                zaak: Uuid,
                document: Uuid,
            ) -> Result<Option<(DocumentInfo, Vec<u8>)>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {DOCUMENT_COLUMNS}, d.inhoud FROM documenten d JOIN zaken z ON z.seq = d.zaak_seq WHERE z.uuid = "
                ));
                select
                    .push_bind(zaak.to_string())
                    .push(" AND d.uuid = ")
                    .push_bind(document.to_string());
                let row: Option<(String, String, String, String, i64, String, i64, Vec<u8>)> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(|(uuid, naam, bestandsnaam, soort, grootte, sha256, ms, inhoud)| {
                    let info = document_from_row((uuid, naam, bestandsnaam, soort, grootte, sha256, ms))?;
                    Ok((info, inhoud))
                })
                .transpose()
            }

            async fn add_note(&self, zaak: Uuid, note: &Note) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO notities (zaak_seq, auteur, tekst, gezet_ms) SELECT seq, ",
                );
                insert
                    .push_bind(note.auteur.clone())
                    .push(", ")
                    .push_bind(note.tekst.clone())
                    .push(", ")
                    .push_bind(millis(note.moment))
                    .push(" FROM zaken WHERE uuid = ")
                    .push_bind(zaak.to_string())
                    .push(" RETURNING zaak_seq");
                let Some((seq,)): Option<(i64,)> =
                    insert.build_query_as().fetch_optional(&mut *tx).await?
                else {
                    return Ok(false);
                };
                let audit = AuditEntry {
                    actor: note.auteur.clone(),
                    actie: "notitie".to_owned(),
                    toelichting: String::new(),
                    moment: note.moment,
                };
                insert_audit(&mut tx, seq, &audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn notes(&self, zaak: Uuid) -> Result<Vec<Note>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT n.auteur, n.tekst, n.gezet_ms FROM notities n \
                     JOIN zaken z ON z.seq = n.zaak_seq WHERE z.uuid = ",
                );
                select.push_bind(zaak.to_string()).push(" ORDER BY n.id");
                let rows: Vec<(String, String, i64)> =
                    select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter()
                    .map(|(auteur, tekst, ms)| {
                        Ok(Note {
                            auteur,
                            tekst,
                            moment: from_millis(ms)?,
                        })
                    })
                    .collect()
            }

            async fn record_audit(&self, zaak: Uuid, entry: &AuditEntry) -> Result<bool, StoreError> {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO audit (zaak_seq, actor, actie, toelichting, gezet_ms) SELECT seq, ",
                );
                insert
                    .push_bind(entry.actor.clone())
                    .push(", ")
                    .push_bind(entry.actie.clone())
                    .push(", ")
                    .push_bind(entry.toelichting.clone())
                    .push(", ")
                    .push_bind(millis(entry.moment))
                    .push(" FROM zaken WHERE uuid = ")
                    .push_bind(zaak.to_string());
                Ok(insert.build().execute(&self.pool).await?.rows_affected() == 1)
            }

            async fn audit_trail(&self, zaak: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT a.actor, a.actie, a.toelichting, a.gezet_ms FROM audit a \
                     JOIN zaken z ON z.seq = a.zaak_seq WHERE z.uuid = ",
                );
                select.push_bind(zaak.to_string()).push(" ORDER BY a.id");
                let rows: Vec<AuditRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(audit_from_row).collect()
            }

            async fn messages(
                &self,
                bsn: &str,
                page: u32,
                page_size: u32,
            ) -> Result<Inbox, StoreError> {
                if let Some(inbox) = self.read_inbox(bsn, page, page_size)? {
                    return Ok(inbox);
                }
                let size = i64::from(page_size.max(1));
                let offset = i64::from(page.max(1) - 1) * size;
                // The page, the total and the unread count in one statement.
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {BERICHT_COLUMNS}, count(*) OVER (), \
                     sum(CASE WHEN b.gelezen_ms IS NULL THEN 1 ELSE 0 END) OVER () \
                     FROM berichten b WHERE b.bsn = "
                ));
                select
                    .push_bind(bsn.to_owned())
                    .push(" ORDER BY b.id DESC LIMIT ")
                    .push_bind(size)
                    .push(" OFFSET ")
                    .push_bind(offset);
                let rows: Vec<InboxRow> = select.build_query_as().fetch_all(&self.pool).await?;
                let (total, unread) = match rows.first() {
                    Some(row) => (row.8, row.9),
                    None if offset == 0 => (0, 0),
                    // Past the last page: count on their own.
                    None => {
                        let mut count: QueryBuilder<'_, $db> = QueryBuilder::new(
                            "SELECT count(*), sum(CASE WHEN gelezen_ms IS NULL THEN 1 ELSE 0 END) \
                             FROM berichten WHERE bsn = ",
                        );
                        count.push_bind(bsn.to_owned());
                        let (total, unread): (i64, Option<i64>) =
                            count.build_query_as().fetch_one(&self.pool).await?;
                        (total, unread.unwrap_or_default())
                    }
                };
                Ok(Inbox {
                    items: rows
                        .into_iter()
                        .map(|r| bericht_from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7)))
                        .collect::<Result<_, _>>()?,
                    total: u64::try_from(total).unwrap_or_default(),
                    unread: u64::try_from(unread).unwrap_or_default(),
                })
            }

            async fn unread_messages(&self, bsn: &str) -> Result<u64, StoreError> {
                let mut count: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT count(*) FROM berichten WHERE bsn = ");
                count.push_bind(bsn.to_owned()).push(" AND gelezen_ms IS NULL");
                let (n,): (i64,) = count.build_query_as().fetch_one(&self.pool).await?;
                Ok(u64::try_from(n).unwrap_or_default())
            }

            async fn message(&self, bsn: &str, uuid: Uuid) -> Result<Option<Bericht>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {BERICHT_COLUMNS} FROM berichten b WHERE b.uuid = "
                ));
                select
                    .push_bind(uuid.to_string())
                    .push(" AND b.bsn = ")
                    .push_bind(bsn.to_owned());
                let row: Option<BerichtRow> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(bericht_from_row).transpose()
            }

            async fn mark_read(
                &self,
                bsn: &str,
                uuid: Uuid,
                now: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE berichten SET gelezen_ms = COALESCE(gelezen_ms, ",
                );
                update
                    .push_bind(millis(now))
                    .push(") WHERE uuid = ")
                    .push_bind(uuid.to_string())
                    .push(" AND bsn = ")
                    .push_bind(bsn.to_owned());
                Ok(update.build().execute(&self.pool).await?.rows_affected() > 0)
            }

            async fn channel(&self, bsn: &str) -> Result<Option<Kanaal>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT kanaal FROM kanaalvoorkeuren WHERE bsn = ");
                select.push_bind(bsn.to_owned());
                let row: Option<(String,)> =
                    select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(|(text,)| Kanaal::parse(&text).ok_or_else(|| corrupt("kanaal", text)))
                    .transpose()
            }

            async fn set_channel(
                &self,
                bsn: &str,
                kanaal: Kanaal,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let mut upsert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO kanaalvoorkeuren (bsn, kanaal, gezet_ms) VALUES (",
                );
                upsert
                    .push_bind(bsn.to_owned())
                    .push(", ")
                    .push_bind(kanaal.as_str().to_owned())
                    .push(", ")
                    .push_bind(millis(now))
                    .push(") ON CONFLICT (bsn) DO UPDATE SET kanaal = excluded.kanaal, gezet_ms = excluded.gezet_ms");
                upsert.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn count_about(
                &self,
                zaaktype: &str,
                zaakobject: &str,
                outcome: Outcome,
            ) -> Result<u64, StoreError> {
                if let Some(n) = self.read_count_about(zaaktype, zaakobject, outcome)? {
                    return Ok(n);
                }
                let mut count: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT count(*) FROM zaken WHERE zaaktype = ");
                count
                    .push_bind(zaaktype.to_owned())
                    .push(" AND zaakobject = ")
                    .push_bind(zaakobject.to_owned())
                    .push(" AND uitkomst = ")
                    .push_bind(outcome.as_str().to_owned());
                let (n,): (i64,) = count.build_query_as().fetch_one(&self.pool).await?;
                Ok(u64::try_from(n).unwrap_or_default())
            }
        }

        /// Insert cases (at most `CASES_PER_STATEMENT`) with their statuses, initiators and
        /// results, as `create` and `import` write them.
        async fn insert_cases(
            tx: &mut loket_store::sqlx::Transaction<'_, $db>,
            rows: &[(String, &NewZaak)],
            now: OffsetDateTime,
        ) -> Result<(), StoreError> {
            let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO zaken (uuid, bronorganisatie, zaaktype, omschrijving, \
                 registratiedatum, startdatum, einddatum_gepland, uiterlijke_einddatum, \
                 einddatum, zaakobject, status, status_count, uitkomst, besluit, aangemaakt_ms) ",
            );
            insert.push_values(rows, |mut row, (uuid, zaak)| {
                let start = zaak.startdatum.unwrap_or(zaak.registratiedatum);
                // Callers refuse dates this far out; a store never panics on one.
                let deadline = date_text(
                    start
                        .checked_add(time::Duration::days(i64::from(zaak.behandeltermijn_dagen)))
                        .unwrap_or(time::Date::MAX),
                );
                let last = zaak.statuses.last();
                let einddatum = last
                    .filter(|s| s.statustype == crate::zaak::statustype::AFGEHANDELD)
                    .map(|s| date_text(crate::zaak::end_date(s.datum_status_gezet)));
                row.push_bind(uuid.clone())
                    .push_bind(zaak.bronorganisatie.clone())
                    .push_bind(zaak.zaaktype.clone())
                    .push_bind(zaak.omschrijving.clone())
                    .push_bind(date_text(zaak.registratiedatum))
                    .push_bind(date_text(start))
                    .push_bind(deadline.clone())
                    .push_bind(deadline)
                    .push_bind(einddatum)
                    .push_bind(zaak.zaakobject.clone())
                    .push_bind(last.map(|s| s.statustype.clone()))
                    .push_bind(i64::try_from(zaak.statuses.len()).unwrap_or(i64::MAX))
                    .push_bind(zaak.besluit.as_ref().map(|(o, _)| o.as_str().to_owned()))
                    .push_bind(zaak.besluit.as_ref().map(|(_, b)| b.to_string()))
                    .push_bind(millis(now));
            });
            insert.push(" RETURNING uuid, seq");
            let returned: Vec<(String, i64)> =
                insert.build_query_as().fetch_all(&mut **tx).await?;
            let seqs: std::collections::HashMap<String, i64> =
                returned.into_iter().collect();
            let seq_of = |uuid: &str| {
                seqs.get(uuid)
                    .copied()
                    .ok_or_else(|| corrupt("an imported case has no seq", uuid))
            };
            let mut statuses = Vec::new();
            let mut roles = Vec::new();
            let mut results = Vec::new();
            for (uuid, zaak) in rows {
                let seq = seq_of(uuid)?;
                if let Some(result) = &zaak.resultaat {
                    results.push((seq, result));
                }
                for (number, status) in (1i64..).zip(&zaak.statuses) {
                    statuses.push((seq, number, status));
                }
                if let Some(role) = &zaak.initiator {
                    roles.push((seq, role));
                }
            }
            for part in statuses.chunks(CASES_PER_STATEMENT) {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO statussen (uuid, zaak_seq, volgnummer, statustype, gezet_ms, actor, toelichting) ",
                );
                insert.push_values(part, |mut row, (seq, number, status)| {
                    row.push_bind(Uuid::now_v7().to_string())
                        .push_bind(*seq)
                        .push_bind(*number)
                        .push_bind(status.statustype.clone())
                        .push_bind(millis(status.datum_status_gezet))
                        .push_bind(status.actor.clone())
                        .push_bind(status.toelichting.clone());
                });
                insert.build().execute(&mut **tx).await?;
            }
            if !roles.is_empty() {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO rollen (uuid, zaak_seq, omschrijving_generiek, betrokkene_type, bsn, medewerker, roltoelichting) ",
                );
                insert.push_values(&roles, |mut row, (seq, role)| {
                    row.push_bind(Uuid::now_v7().to_string())
                        .push_bind(*seq)
                        .push_bind(role.omschrijving_generiek.clone())
                        .push_bind(role.betrokkene_type.clone())
                        .push_bind(role.bsn.clone())
                        .push_bind(role.medewerker.clone())
                        .push_bind(role.roltoelichting.clone());
                });
                insert.build().execute(&mut **tx).await?;
            }
            if !results.is_empty() {
                let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO resultaten (uuid, zaak_seq, resultaattype, toelichting) ",
                );
                insert.push_values(&results, |mut row, (seq, (kind, text))| {
                    row.push_bind(Uuid::now_v7().to_string())
                        .push_bind(*seq)
                        .push_bind(kind.clone())
                        .push_bind(text.clone());
                });
                insert.build().execute(&mut **tx).await?;
            }
            // One statement per file: files are large, and few cases have any.
            for (uuid, zaak) in rows {
                let seq = seq_of(uuid)?;
                if let Some(audit) = &zaak.audit {
                    insert_audit(tx, seq, audit).await?;
                }
                for bericht in &zaak.berichten {
                    insert_bericht(tx, seq, bericht, now).await?;
                }
                for document in &zaak.documenten {
                    let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO documenten (uuid, zaak_seq, naam, bestandsnaam, soort, grootte, sha256, inhoud, toegevoegd_ms) ",
                    );
                    insert.push_values([document], |mut row, d| {
                        row.push_bind(Uuid::now_v7().to_string())
                            .push_bind(seq)
                            .push_bind(d.naam.clone())
                            .push_bind(d.bestandsnaam.clone())
                            .push_bind(d.soort.content_type().to_owned())
                            .push_bind(i64::try_from(d.inhoud.len()).unwrap_or(i64::MAX))
                            .push_bind(d.sha256.clone())
                            .push_bind(d.inhoud.clone())
                            .push_bind(millis(now));
                    });
                    insert.build().execute(&mut **tx).await?;
                }
            }
            Ok(())
        }

        /// Insert status number `number` of case `seq`.
        async fn insert_status(
            tx: &mut loket_store::sqlx::Transaction<'_, $db>,
            seq: i64,
            number: i64,
            status: &NewStatus,
        ) -> Result<Uuid, StoreError> {
            let uuid = Uuid::now_v7();
            let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO statussen (uuid, zaak_seq, volgnummer, statustype, gezet_ms, actor, toelichting) ",
            );
            insert.push_values([status], |mut row, status| {
                row.push_bind(uuid.to_string())
                    .push_bind(seq)
                    .push_bind(number)
                    .push_bind(status.statustype.clone())
                    .push_bind(millis(status.datum_status_gezet))
                    .push_bind(status.actor.clone())
                    .push_bind(status.toelichting.clone());
            });
            insert.build().execute(&mut **tx).await?;
            Ok(uuid)
        }

        async fn insert_audit(
            tx: &mut loket_store::sqlx::Transaction<'_, $db>,
            seq: i64,
            entry: &AuditEntry,
        ) -> Result<(), StoreError> {
            let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO audit (zaak_seq, actor, actie, toelichting, gezet_ms) ",
            );
            insert.push_values([entry], |mut row, entry| {
                row.push_bind(seq)
                    .push_bind(entry.actor.clone())
                    .push_bind(entry.actie.clone())
                    .push_bind(entry.toelichting.clone())
                    .push_bind(millis(entry.moment));
            });
            insert.build().execute(&mut **tx).await?;
            Ok(())
        }

        async fn insert_bericht(
            tx: &mut loket_store::sqlx::Transaction<'_, $db>,
            seq: i64,
            bericht: &NewBericht,
            now: OffsetDateTime,
        ) -> Result<(), StoreError> {
            let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO berichten (uuid, bsn, zaak_seq, onderwerp_nl, onderwerp_en, tekst_nl, tekst_en, verzonden_ms) ",
            );
            insert.push_values([bericht], |mut row, b| {
                row.push_bind(Uuid::now_v7().to_string())
                    .push_bind(b.bsn.clone())
                    .push_bind(seq)
                    .push_bind(b.onderwerp.nl.clone())
                    .push_bind(b.onderwerp.en.clone())
                    .push_bind(b.tekst.nl.clone())
                    .push_bind(b.tekst.en.clone())
                    .push_bind(millis(now));
            });
            insert.build().execute(&mut **tx).await?;
            Ok(())
        }

        async fn insert_role(
            tx: &mut loket_store::sqlx::Transaction<'_, $db>,
            seq: i64,
            role: &NewRol,
        ) -> Result<Uuid, StoreError> {
            let uuid = Uuid::now_v7();
            let mut insert: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO rollen (uuid, zaak_seq, omschrijving_generiek, betrokkene_type, bsn, medewerker, roltoelichting) ",
            );
            insert.push_values([role], |mut row, role| {
                row.push_bind(uuid.to_string())
                    .push_bind(seq)
                    .push_bind(role.omschrijving_generiek.clone())
                    .push_bind(role.betrokkene_type.clone())
                    .push_bind(role.bsn.clone())
                    .push_bind(role.medewerker.clone())
                    .push_bind(role.roltoelichting.clone());
            });
            insert.build().execute(&mut **tx).await?;
            Ok(uuid)
        }

        fn zaak_row(row: &<$db as loket_store::sqlx::Database>::Row) -> Result<ZaakRow, StoreError> {
            use loket_store::sqlx::Row;
            Ok(zaak_row_from!(row, try_get))
        }
    };
}

pub(super) use zaak_store_impl;
