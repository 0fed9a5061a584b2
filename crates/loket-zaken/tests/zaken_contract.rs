//! The case store's contract, run against SQLite and PostgreSQL alike.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use loket_store::{Database, StorageUrl};
use loket_zaken::berichten::{Kanaal, NewBericht};
use loket_zaken::catalogue::Text;
use loket_zaken::zaak::{
    AuditEntry, Closing, ListOrder, NewRol, NewStatus, NewZaak, Note, Outcome, ZaakFilter,
    statustype,
};
use loket_zaken::{SCHEMA, ZaakStore, zaak_store};
use serde_json::json;
use time::macros::{date, datetime};
use uuid::Uuid;

async fn open(url: &StorageUrl) -> Arc<dyn ZaakStore> {
    let database = Database::open(url, &SCHEMA).await.unwrap();
    zaak_store(&database)
}

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const SANNE: &str = "999990007";
const TOM: &str = "999990111";

fn status(statustype: &str, toelichting: &str) -> NewStatus {
    NewStatus {
        statustype: statustype.to_owned(),
        datum_status_gezet: NOW,
        actor: "test".to_owned(),
        toelichting: toelichting.to_owned(),
    }
}

fn application(bsn: &str, object: &str) -> NewZaak {
    NewZaak {
        bronorganisatie: "002220647".to_owned(),
        zaaktype: "bewonersparkeervergunning".to_owned(),
        omschrijving: "Aanvraag bewonersparkeervergunning".to_owned(),
        registratiedatum: date!(2026 - 11 - 23),
        startdatum: None,
        behandeltermijn_dagen: 56,
        zaakobject: Some(object.to_owned()),
        initiator: Some(NewRol::initiator(bsn)),
        statuses: vec![status(statustype::ONTVANGEN, "Aanvraag ontvangen")],
        besluit: None,
        resultaat: None,
        documenten: Vec::new(),
        audit: None,
        berichten: Vec::new(),
    }
}

async fn a_case_is_created_with_its_initiator_status_and_deadlines(store: Arc<dyn ZaakStore>) {
    let mut new = application(SANNE, "9901AB 12");
    new.besluit = Some((Outcome::Toegekend, json!({"uitleg": {"nl": "ja"}})));
    let zaak = store.create(&new, NOW).await.unwrap();
    assert!(
        zaak.identificatie.starts_with("ZAAK-2026-"),
        "{}",
        zaak.identificatie
    );
    assert_eq!(zaak.einddatum_gepland, date!(2027 - 01 - 18));
    assert_eq!(zaak.uiterlijke_einddatum_afdoening, date!(2027 - 01 - 18));
    assert_eq!(zaak.status.as_deref(), Some(statustype::ONTVANGEN));
    assert_eq!(zaak.uitkomst, Some(Outcome::Toegekend));
    assert_eq!(zaak.besluit.as_ref().unwrap()["uitleg"]["nl"], "ja");
    assert_eq!(zaak.aangemaakt, NOW);

    let roles = store.roles(zaak.uuid).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].bsn.as_deref(), Some(SANNE));
    assert_eq!(roles[0].omschrijving_generiek, "initiator");
    assert_eq!(store.role(roles[0].uuid).await.unwrap().unwrap(), roles[0]);

    let statuses = store.statuses(zaak.uuid).await.unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].volgnummer, 1);
    assert_eq!(
        store.status(statuses[0].uuid).await.unwrap().unwrap(),
        statuses[0]
    );
    assert_eq!(store.get(zaak.uuid).await.unwrap().unwrap(), zaak);
    assert!(store.get(Uuid::now_v7()).await.unwrap().is_none());
}

async fn a_case_decided_at_once_is_closed_in_one_go(store: Arc<dyn ZaakStore>) {
    let mut new = application(SANNE, "9901AB 12");
    new.statuses
        .push(status(statustype::AFGEHANDELD, "Besloten"));
    new.besluit = Some((Outcome::Afgewezen, json!({})));
    new.resultaat = Some(("afgewezen".to_owned(), "Geen auto op naam".to_owned()));
    let zaak = store.create(&new, NOW).await.unwrap();
    assert_eq!(zaak.status.as_deref(), Some(statustype::AFGEHANDELD));
    assert_eq!(zaak.status_count, 2);
    assert_eq!(zaak.einddatum, Some(NOW.date()));
    let statuses = store.statuses(zaak.uuid).await.unwrap();
    assert_eq!(
        statuses
            .iter()
            .map(|s| (s.volgnummer, s.statustype.as_str()))
            .collect::<Vec<_>>(),
        [(1, statustype::ONTVANGEN), (2, statustype::AFGEHANDELD)]
    );
    assert_eq!(
        store
            .result(zaak.uuid)
            .await
            .unwrap()
            .unwrap()
            .resultaattype,
        "afgewezen"
    );
    // A case created through the API starts without a status.
    new.statuses.clear();
    new.besluit = None;
    new.resultaat = None;
    let bare = store.create(&new, NOW).await.unwrap();
    assert_eq!(
        (bare.status, bare.status_count, bare.einddatum),
        (None, 0, None)
    );
}

async fn a_resident_sees_only_their_own_cases_newest_first(store: Arc<dyn ZaakStore>) {
    let mut sanne = Vec::new();
    for i in 0..5 {
        sanne.push(
            store
                .create(&application(SANNE, &format!("a{i}")), NOW)
                .await
                .unwrap(),
        );
    }
    store.create(&application(TOM, "b"), NOW).await.unwrap();
    let page = |page| ZaakFilter {
        bsn: Some(SANNE.to_owned()),
        page,
        page_size: 2,
        ..ZaakFilter::default()
    };
    let first = store.list(&page(1)).await.unwrap();
    assert_eq!(first.total, 5);
    assert_eq!(
        first.items.iter().map(|z| z.uuid).collect::<Vec<_>>(),
        [sanne[4].uuid, sanne[3].uuid]
    );
    let last = store.list(&page(3)).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].uuid, sanne[0].uuid);
    let past = store.list(&page(4)).await.unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 5, "past the last page the total is still known");

    let nobody = ZaakFilter {
        bsn: Some("999999999".to_owned()),
        page: 1,
        page_size: 10,
        ..ZaakFilter::default()
    };
    assert_eq!(store.list(&nobody).await.unwrap().total, 0);
    let by_id = ZaakFilter {
        identificatie: Some(sanne[2].identificatie.clone()),
        page: 1,
        page_size: 10,
        ..ZaakFilter::default()
    };
    assert_eq!(
        store.list(&by_id).await.unwrap().items[0].uuid,
        sanne[2].uuid
    );
    // The same number in another year is another case.
    let other_year = ZaakFilter {
        identificatie: Some(sanne[2].identificatie.replace("ZAAK-2026-", "ZAAK-1999-")),
        page: 1,
        page_size: 10,
        ..ZaakFilter::default()
    };
    assert_eq!(store.list(&other_year).await.unwrap().total, 0);
    let garbage = ZaakFilter {
        identificatie: Some("'; DROP TABLE zaken; --".to_owned()),
        page: 1,
        page_size: 10,
        ..ZaakFilter::default()
    };
    assert_eq!(store.list(&garbage).await.unwrap().total, 0);
}

async fn concurrent_statuses_are_all_kept_in_order(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "x"), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .add_status(
                    zaak.uuid,
                    &status(statustype::IN_BEHANDELING, &format!("stap {i}")),
                    &audit("test", "status gezet"),
                )
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        numbers.insert(task.await.unwrap().volgnummer);
    }
    assert_eq!(
        numbers,
        (2..=41).collect::<BTreeSet<i64>>(),
        "each append its own number"
    );
    let statuses = store.statuses(zaak.uuid).await.unwrap();
    assert_eq!(statuses.len(), 41, "no status lost");
    let notes: BTreeSet<String> = statuses
        .iter()
        .skip(1)
        .map(|s| s.toelichting.clone())
        .collect();
    assert_eq!(notes.len(), 40);
    assert_eq!(
        store.get(zaak.uuid).await.unwrap().unwrap().status_count,
        41
    );

    let done = store
        .add_status(
            zaak.uuid,
            &status(statustype::AFGEHANDELD, "klaar"),
            &audit("test", "status gezet"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.volgnummer, 42);
    let zaak = store.get(zaak.uuid).await.unwrap().unwrap();
    assert_eq!(zaak.status.as_deref(), Some(statustype::AFGEHANDELD));
    assert_eq!(zaak.einddatum, Some(NOW.date()));
    assert!(
        store
            .add_status(
                Uuid::now_v7(),
                &status(statustype::AFGEHANDELD, "?"),
                &audit("test", "status gezet"),
            )
            .await
            .unwrap()
            .is_none()
    );
}

/// Writes of every kind to one case at once (two employees, the API, the process) all
/// succeed: none is refused because another held the database. On SQLite a transaction
/// that reads before it writes cannot wait for another writer (SQLite refuses it at once
/// rather than risk a deadlock), so every writing transaction takes the lock first.
async fn concurrent_writes_of_every_kind_all_succeed(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "x"), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let uuid = zaak.uuid;
            match i % 4 {
                0 => store
                    .add_role(uuid, &NewRol::initiator(TOM), &audit("test", "rol"))
                    .await
                    .map(|added| added.is_some()),
                1 => {
                    let note = Note {
                        auteur: "m.jansen".to_owned(),
                        tekst: format!("notitie {i}"),
                        moment: NOW,
                    };
                    store.add_note(uuid, &note).await
                }
                2 => store
                    .set_result(uuid, "toegekend", "", &audit("test", "resultaat"))
                    .await
                    // One result per case: the others find it there.
                    .map(|_| true),
                _ => store
                    .add_status(
                        uuid,
                        &status(statustype::IN_BEHANDELING, &format!("stap {i}")),
                        &audit("test", "status gezet"),
                    )
                    .await
                    .map(|added| added.is_some()),
            }
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let written = task.await.unwrap();
        assert!(matches!(written, Ok(true)), "write {i}: {written:?}");
    }
    assert_eq!(store.roles(zaak.uuid).await.unwrap().len(), 1 + 12);
    assert_eq!(store.notes(zaak.uuid).await.unwrap().len(), 12);
    assert_eq!(store.statuses(zaak.uuid).await.unwrap().len(), 1 + 12);
    assert!(store.result(zaak.uuid).await.unwrap().is_some());
}

async fn a_case_has_one_result(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "x"), NOW).await.unwrap();
    let result = store
        .set_result(
            zaak.uuid,
            "toegekend",
            "Vergunning verleend",
            &audit("test", "resultaat"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.result(zaak.uuid).await.unwrap().unwrap(), result);
    let audited = |trail: Vec<AuditEntry>| trail.iter().filter(|a| a.actie == "resultaat").count();
    assert_eq!(
        store.result_by_uuid(result.uuid).await.unwrap().unwrap(),
        result
    );
    assert!(
        store
            .set_result(
                zaak.uuid,
                "afgewezen",
                "toch niet",
                &audit("test", "resultaat")
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .set_result(Uuid::now_v7(), "afgewezen", "", &audit("test", "resultaat"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        audited(store.audit_trail(zaak.uuid).await.unwrap()),
        1,
        "the refused second result left no audit line"
    );
}

async fn granted_permits_are_counted_per_object(store: Arc<dyn ZaakStore>) {
    for (bsn, outcome) in [
        (SANNE, Outcome::Toegekend),
        (TOM, Outcome::Toegekend),
        (TOM, Outcome::Afgewezen),
    ] {
        let zaak = store
            .create(&application(bsn, "9901AB 12"), NOW)
            .await
            .unwrap();
        assert!(
            store
                .record_decision(zaak.uuid, outcome, &json!({}))
                .await
                .unwrap()
        );
    }
    store
        .create(&application(SANNE, "9901AB 14"), NOW)
        .await
        .unwrap();
    let count = |object: &'static str, outcome| {
        let store = store.clone();
        async move {
            store
                .count_about("bewonersparkeervergunning", object, outcome)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("9901AB 12", Outcome::Toegekend).await, 2);
    assert_eq!(count("9901AB 12", Outcome::Afgewezen).await, 1);
    assert_eq!(count("9901AB 14", Outcome::Toegekend).await, 0);
    assert!(
        !store
            .record_decision(Uuid::now_v7(), Outcome::Toegekend, &json!({}))
            .await
            .unwrap()
    );
}

async fn roles_can_be_added(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "x"), NOW).await.unwrap();
    let partner = NewRol {
        omschrijving_generiek: "belanghebbende".to_owned(),
        betrokkene_type: "natuurlijk_persoon".to_owned(),
        bsn: Some(TOM.to_owned()),
        medewerker: None,
        roltoelichting: "Partner".to_owned(),
    };
    store
        .add_role(zaak.uuid, &partner, &audit("test", "rol toegevoegd"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.roles(zaak.uuid).await.unwrap().len(), 2);
    let toms = ZaakFilter {
        bsn: Some(TOM.to_owned()),
        page: 1,
        page_size: 10,
        ..ZaakFilter::default()
    };
    assert_eq!(store.list(&toms).await.unwrap().total, 1);
    assert!(
        store
            .add_role(Uuid::now_v7(), &partner, &audit("test", "rol toegevoegd"))
            .await
            .unwrap()
            .is_none()
    );
}

fn audit(actor: &str, actie: &str) -> AuditEntry {
    AuditEntry {
        actor: actor.to_owned(),
        actie: actie.to_owned(),
        toelichting: String::new(),
        moment: NOW,
    }
}

async fn the_work_queue_lists_open_cases_by_deadline(store: Arc<dyn ZaakStore>) {
    let mut late = application(SANNE, "A 1");
    late.behandeltermijn_dagen = 3;
    let mut later = application(TOM, "A 2");
    later.behandeltermijn_dagen = 10;
    let mut closed = application(TOM, "A 3");
    closed.behandeltermijn_dagen = 1;
    closed
        .statuses
        .push(status(statustype::AFGEHANDELD, "Klaar"));
    let later = store.create(&later, NOW).await.unwrap();
    let late = store.create(&late, NOW).await.unwrap();
    store.create(&closed, NOW).await.unwrap();
    let queue = |filter: ZaakFilter| {
        let store = store.clone();
        async move {
            let page = store
                .list(&ZaakFilter {
                    open: Some(true),
                    order: ListOrder::Deadline,
                    page: 1,
                    page_size: 50,
                    ..filter
                })
                .await
                .unwrap();
            page.items.into_iter().map(|z| z.uuid).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        queue(ZaakFilter::default()).await,
        vec![late.uuid, later.uuid]
    );
    let due = ZaakFilter {
        due_by: Some(date!(2026 - 11 - 30)),
        ..ZaakFilter::default()
    };
    assert_eq!(queue(due).await, vec![late.uuid]);
    assert!(
        store
            .assign(
                later.uuid,
                Some("m.jansen"),
                &audit("coordinator", "toegewezen")
            )
            .await
            .unwrap()
    );
    let mine = ZaakFilter {
        behandelaar: Some("m.jansen".to_owned()),
        ..ZaakFilter::default()
    };
    assert_eq!(queue(mine).await, vec![later.uuid]);
    assert_eq!(
        store.audit_trail(later.uuid).await.unwrap(),
        vec![audit("coordinator", "toegewezen")]
    );
}

/// A case closed just after midnight in the Netherlands (still the day before in UTC)
/// ends on the Dutch date, whichever way it closes: a status, a decision, or at creation.
async fn a_case_ends_on_the_dutch_date_it_closed(store: Arc<dyn ZaakStore>) {
    let just_after_midnight = datetime!(2026-12-07 23:13 UTC);
    let at_midnight = |mut new: NewStatus| {
        new.datum_status_gezet = just_after_midnight;
        new
    };
    let by_status = store.create(&application(SANNE, "C 1"), NOW).await.unwrap();
    store
        .add_status(
            by_status.uuid,
            &at_midnight(status(statustype::AFGEHANDELD, "Afgehandeld")),
            &audit("zgw", "status gezet"),
        )
        .await
        .unwrap()
        .unwrap();
    let by_decision = store.create(&application(SANNE, "C 2"), NOW).await.unwrap();
    let closing = Closing {
        outcome: Outcome::Toegekend,
        besluit: json!({}),
        status: at_midnight(status(statustype::AFGEHANDELD, "Besluit genomen")),
        resultaat_toelichting: String::new(),
        audit: audit("m.jansen", "besloten"),
        bericht: None,
    };
    store
        .close(by_decision.uuid, &closing)
        .await
        .unwrap()
        .unwrap();
    let mut at_once = application(SANNE, "C 3");
    at_once
        .statuses
        .push(at_midnight(status(statustype::AFGEHANDELD, "Besloten")));
    let at_once = store.create(&at_once, just_after_midnight).await.unwrap();
    for zaak in [by_status.uuid, by_decision.uuid, at_once.uuid] {
        let closed = store.get(zaak).await.unwrap().unwrap();
        assert_eq!(closed.einddatum, Some(date!(2026 - 12 - 08)));
    }
}

async fn a_person_closes_a_case_once_with_status_result_and_audit(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "B 1"), NOW).await.unwrap();
    let closing = Closing {
        outcome: Outcome::Afgewezen,
        besluit: json!({"uitkomst": "afgewezen", "reden": "Geen bewijs van lease"}),
        status: status(statustype::AFGEHANDELD, "Besluit genomen"),
        resultaat_toelichting: "Geen bewijs van lease".to_owned(),
        audit: audit("m.jansen", "besloten"),
        bericht: Some(letter(SANNE, "U krijgt geen vergunning")),
    };
    let closed = store.close(zaak.uuid, &closing).await.unwrap().unwrap();
    assert_eq!(closed.uitkomst, Some(Outcome::Afgewezen));
    assert_eq!(closed.einddatum, Some(date!(2026 - 11 - 23)));
    assert_eq!(closed.status.as_deref(), Some(statustype::AFGEHANDELD));
    assert_eq!(closed.besluit.unwrap()["reden"], "Geen bewijs van lease");
    assert_eq!(
        store
            .result(zaak.uuid)
            .await
            .unwrap()
            .unwrap()
            .resultaattype,
        "afgewezen"
    );
    // Closed is closed: a second decision or an assignment changes nothing.
    let mut again = closing.clone();
    again.outcome = Outcome::Toegekend;
    assert!(store.close(zaak.uuid, &again).await.unwrap().is_none());
    assert!(
        !store
            .assign(zaak.uuid, Some("x"), &audit("x", "toegewezen"))
            .await
            .unwrap()
    );
    assert_eq!(store.statuses(zaak.uuid).await.unwrap().len(), 2);
    assert_eq!(store.audit_trail(zaak.uuid).await.unwrap().len(), 1);
    // The decision's letter came with it, once.
    let letters = store.messages(SANNE, 1, 10).await.unwrap();
    assert_eq!(letters.total, 1);
    assert_eq!(letters.items[0].onderwerp.nl, "U krijgt geen vergunning");
    assert_eq!(letters.items[0].zaak, Some(zaak.uuid));
    assert!(
        store
            .close(Uuid::now_v7(), &closing)
            .await
            .unwrap()
            .is_none()
    );
}

async fn notes_and_views_are_kept_in_order(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "C 1"), NOW).await.unwrap();
    assert!(
        store
            .record_audit(zaak.uuid, &audit("kcc", "bekeken"))
            .await
            .unwrap()
    );
    for text in ["Gebeld met aanvrager", "Leasecontract volgt"] {
        let note = Note {
            auteur: "m.jansen".to_owned(),
            tekst: text.to_owned(),
            moment: NOW,
        };
        assert!(store.add_note(zaak.uuid, &note).await.unwrap());
    }
    let notes = store.notes(zaak.uuid).await.unwrap();
    assert_eq!(
        notes.iter().map(|n| n.tekst.as_str()).collect::<Vec<_>>(),
        vec!["Gebeld met aanvrager", "Leasecontract volgt"]
    );
    let trail = store.audit_trail(zaak.uuid).await.unwrap();
    assert_eq!(
        trail.iter().map(|a| a.actie.as_str()).collect::<Vec<_>>(),
        vec!["bekeken", "notitie", "notitie"]
    );
    let nobody = Uuid::now_v7();
    assert!(
        !store
            .record_audit(nobody, &audit("kcc", "bekeken"))
            .await
            .unwrap()
    );
    let note = Note {
        auteur: "x".to_owned(),
        tekst: "x".to_owned(),
        moment: NOW,
    };
    assert!(!store.add_note(nobody, &note).await.unwrap());
}

async fn many_cases_are_imported_as_create_writes_them(store: Arc<dyn ZaakStore>) {
    let mut decided = application(SANNE, "D 1");
    decided
        .statuses
        .push(status(statustype::AFGEHANDELD, "Besloten"));
    decided.besluit = Some((Outcome::Toegekend, json!({"uitkomst": "toegekend"})));
    decided.resultaat = Some(("toegekend".to_owned(), "Verleend".to_owned()));
    let batch: Vec<NewZaak> = (0..1500)
        .map(|i| application(if i % 2 == 0 { SANNE } else { TOM }, "D 2"))
        .chain([decided])
        .collect();
    assert_eq!(store.import(&batch, NOW).await.unwrap(), 1501);
    let sannes = store
        .list(&ZaakFilter {
            bsn: Some(SANNE.to_owned()),
            page: 1,
            page_size: 1,
            ..ZaakFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sannes.total, 751, "spread over more than one statement");
    let newest = &sannes.items[0];
    assert_eq!(newest.uitkomst, Some(Outcome::Toegekend));
    assert_eq!(newest.einddatum, Some(date!(2026 - 11 - 23)));
    assert_eq!(store.statuses(newest.uuid).await.unwrap().len(), 2);
    assert_eq!(
        store
            .result(newest.uuid)
            .await
            .unwrap()
            .unwrap()
            .toelichting,
        "Verleend"
    );
    assert_eq!(
        store.roles(newest.uuid).await.unwrap()[0].bsn.as_deref(),
        Some(SANNE)
    );
}

async fn cases_created_together_come_back_in_the_order_given(store: Arc<dyn ZaakStore>) {
    // More than one statement's worth, alternating residents and objects, so an answer
    // out of order would hand someone else's case back.
    let batch: Vec<NewZaak> = (0..1200)
        .map(|i| {
            let bsn = if i % 2 == 0 { SANNE } else { TOM };
            application(bsn, &format!("G {i}"))
        })
        .collect();
    let created = store.create_all(&batch, NOW).await.unwrap();
    assert_eq!(created.len(), batch.len());
    for (i, zaak) in created.iter().enumerate() {
        assert_eq!(zaak.zaakobject.as_deref(), Some(format!("G {i}").as_str()));
    }
    let distinct: BTreeSet<Uuid> = created.iter().map(|z| z.uuid).collect();
    assert_eq!(distinct.len(), created.len());
    let last = created.last().unwrap();
    assert_eq!(
        store.roles(last.uuid).await.unwrap()[0].bsn.as_deref(),
        Some(TOM)
    );
    assert!(store.create_all(&[], NOW).await.unwrap().is_empty());
}

async fn documents_are_kept_with_their_case_and_only_theirs(store: Arc<dyn ZaakStore>) {
    let mut new = application(SANNE, "L 1");
    let statement = b"%PDF-1.4 lease statement".to_vec();
    new.documenten = vec![
        loket_zaken::bijlage::Bijlage::parse(loket_zaken::bijlage::Upload {
            naam: "leasedocument".to_owned(),
            bestandsnaam: "lease.pdf".to_owned(),
            inhoud: statement.clone(),
        })
        .unwrap(),
    ];
    let zaak = store.create(&new, NOW).await.unwrap();
    let other = store.create(&application(TOM, "L 2"), NOW).await.unwrap();
    let listed = store.documents(zaak.uuid).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].bestandsnaam, "lease.pdf");
    assert_eq!(listed[0].grootte, statement.len() as u64);
    assert_eq!(listed[0].toegevoegd, NOW);
    let (info, content) = store
        .document(zaak.uuid, listed[0].uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content, statement);
    assert_eq!(info.sha256, new.documenten[0].sha256);
    assert!(store.documents(other.uuid).await.unwrap().is_empty());
    assert!(
        store
            .document(other.uuid, listed[0].uuid)
            .await
            .unwrap()
            .is_none(),
        "a file is found only through its own case"
    );
}

fn letter(bsn: &str, onderwerp: &str) -> NewBericht {
    NewBericht {
        bsn: bsn.to_owned(),
        onderwerp: Text {
            nl: onderwerp.to_owned(),
            en: format!("EN {onderwerp}"),
        },
        tekst: Text {
            nl: "Tekst".to_owned(),
            en: "Text".to_owned(),
        },
    }
}

async fn letters_reach_their_resident_only_and_are_read_once(store: Arc<dyn ZaakStore>) {
    let mut first = application(SANNE, "L 1");
    first.berichten = vec![letter(SANNE, "Eerste")];
    let mut second = application(SANNE, "L 2");
    second.berichten = vec![letter(SANNE, "Tweede")];
    let mut toms = application(TOM, "L 3");
    toms.berichten = vec![letter(TOM, "Van Tom")];
    let created = store.create_all(&[first, second, toms], NOW).await.unwrap();
    let sannes = store.messages(SANNE, 1, 10).await.unwrap();
    assert_eq!(sannes.total, 2);
    let subjects: Vec<&str> = sannes
        .items
        .iter()
        .map(|b| b.onderwerp.nl.as_str())
        .collect();
    assert_eq!(subjects, vec!["Tweede", "Eerste"], "newest first");
    assert_eq!(sannes.items[0].zaak, Some(created[1].uuid));
    assert_eq!(sannes.items[0].onderwerp.en, "EN Tweede");
    assert_eq!(store.unread_messages(SANNE).await.unwrap(), 2);
    assert_eq!(sannes.unread, 2, "the page counts the unread ones too");
    assert_eq!(
        store.messages(SANNE, 2, 1).await.unwrap().items[0]
            .onderwerp
            .nl,
        "Eerste"
    );

    // Tom's letter is not Sanne's to read or to mark.
    let tom_letter = store.messages(TOM, 1, 10).await.unwrap().items[0].uuid;
    assert!(store.message(SANNE, tom_letter).await.unwrap().is_none());
    assert!(!store.mark_read(SANNE, tom_letter, NOW).await.unwrap());
    assert_eq!(store.unread_messages(TOM).await.unwrap(), 1);

    // Read once: a second reading keeps the first moment.
    let one = sannes.items[0].uuid;
    assert!(store.mark_read(SANNE, one, NOW).await.unwrap());
    let later = NOW + time::Duration::hours(1);
    assert!(store.mark_read(SANNE, one, later).await.unwrap());
    assert_eq!(
        store.message(SANNE, one).await.unwrap().unwrap().gelezen,
        Some(NOW)
    );
    assert_eq!(store.unread_messages(SANNE).await.unwrap(), 1);
    let past_the_end = store.messages(SANNE, 3, 1).await.unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!((past_the_end.total, past_the_end.unread), (2, 1));

    // The channel preference: unset, set, changed.
    assert_eq!(store.channel(SANNE).await.unwrap(), None);
    store
        .set_channel(SANNE, Kanaal::OokPost, NOW)
        .await
        .unwrap();
    store
        .set_channel(SANNE, Kanaal::Digitaal, later)
        .await
        .unwrap();
    assert_eq!(store.channel(SANNE).await.unwrap(), Some(Kanaal::Digitaal));
    assert_eq!(store.channel(TOM).await.unwrap(), None);
}

loket_store::contract_suite! {
    open = open;
    tests = [
        a_case_is_created_with_its_initiator_status_and_deadlines,
        a_case_decided_at_once_is_closed_in_one_go,
        a_resident_sees_only_their_own_cases_newest_first,
        concurrent_statuses_are_all_kept_in_order,
        concurrent_writes_of_every_kind_all_succeed,
        a_case_has_one_result,
        granted_permits_are_counted_per_object,
        roles_can_be_added,
        the_work_queue_lists_open_cases_by_deadline,
        a_person_closes_a_case_once_with_status_result_and_audit,
        a_case_ends_on_the_dutch_date_it_closed,
        notes_and_views_are_kept_in_order,
        many_cases_are_imported_as_create_writes_them,
        cases_created_together_come_back_in_the_order_given,
        documents_are_kept_with_their_case_and_only_theirs,
        letters_reach_their_resident_only_and_are_read_once,
    ];
}
