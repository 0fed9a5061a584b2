//! The case store's contract, run against SQLite and PostgreSQL alike.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use loket_store::{Database, StorageUrl};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, Outcome, ZaakFilter, statustype};
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
        behandeltermijn_dagen: 56,
        zaakobject: Some(object.to_owned()),
        initiator: Some(NewRol::initiator(bsn)),
        statuses: vec![status(statustype::ONTVANGEN, "Aanvraag ontvangen")],
        besluit: None,
        resultaat: None,
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
    // Without any status there is no case.
    new.statuses.clear();
    assert!(store.create(&new, NOW).await.is_err());
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
    assert!(store.list(&page(4)).await.unwrap().items.is_empty());

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
        .add_status(zaak.uuid, &status(statustype::AFGEHANDELD, "klaar"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.volgnummer, 42);
    let zaak = store.get(zaak.uuid).await.unwrap().unwrap();
    assert_eq!(zaak.status.as_deref(), Some(statustype::AFGEHANDELD));
    assert_eq!(zaak.einddatum, Some(NOW.date()));
    assert!(
        store
            .add_status(Uuid::now_v7(), &status(statustype::AFGEHANDELD, "?"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_case_has_one_result(store: Arc<dyn ZaakStore>) {
    let zaak = store.create(&application(SANNE, "x"), NOW).await.unwrap();
    let result = store
        .set_result(zaak.uuid, "toegekend", "Vergunning verleend")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.result(zaak.uuid).await.unwrap().unwrap(), result);
    assert_eq!(
        store.result_by_uuid(result.uuid).await.unwrap().unwrap(),
        result
    );
    assert!(
        store
            .set_result(zaak.uuid, "afgewezen", "toch niet")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .set_result(Uuid::now_v7(), "afgewezen", "")
            .await
            .unwrap()
            .is_none()
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
        roltoelichting: "Partner".to_owned(),
    };
    store.add_role(zaak.uuid, &partner).await.unwrap().unwrap();
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
            .add_role(Uuid::now_v7(), &partner)
            .await
            .unwrap()
            .is_none()
    );
}

loket_store::contract_suite! {
    open = open;
    tests = [
        a_case_is_created_with_its_initiator_status_and_deadlines,
        a_case_decided_at_once_is_closed_in_one_go,
        a_resident_sees_only_their_own_cases_newest_first,
        concurrent_statuses_are_all_kept_in_order,
        a_case_has_one_result,
        granted_permits_are_counted_per_object,
        roles_can_be_added,
    ];
}
