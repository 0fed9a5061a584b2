//! The case handlers' work on both backends: who may do what, deciding with a reason, and
//! the audit trail every action leaves.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use loket_core::FixedClock;
use loket_store::{Database, StorageUrl};
use loket_zaken::catalogue::Catalogue;
use loket_zaken::werk::{DeadlineFilter, Medewerker, QueueFilter, StaffRole, Werk, WerkError};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, Outcome, statustype};
use loket_zaken::{SCHEMA, ZaakStore, zaak_store};
use serde_json::json;
use time::macros::{date, datetime};
use uuid::Uuid;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const PERMIT: &str = "bewonersparkeervergunning";

struct World {
    store: Arc<dyn ZaakStore>,
    werk: Werk,
    clock: Arc<FixedClock>,
}

async fn open(url: &StorageUrl) -> World {
    let database = Database::open(url, &SCHEMA).await.unwrap();
    let store = zaak_store(&database);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    let catalogue = Arc::new(Catalogue::load(&dir).unwrap());
    let clock = Arc::new(FixedClock::at(NOW));
    let werk = Werk::new(store.clone(), catalogue, clock.clone());
    World { store, werk, clock }
}

fn staff(id: &str, role: StaffRole) -> Medewerker {
    Medewerker {
        id: id.to_owned(),
        naam: format!("Medewerker {id}"),
        rollen: vec![role],
    }
}

impl World {
    /// A lease-car application the rules sent to a person, due in `days`.
    async fn waiting(&self, days: u16) -> Uuid {
        let new = NewZaak {
            bronorganisatie: "123456782".to_owned(),
            zaaktype: PERMIT.to_owned(),
            omschrijving: "Aanvraag bewonersparkeervergunning".to_owned(),
            registratiedatum: date!(2026 - 11 - 23),
            startdatum: None,
            behandeltermijn_dagen: days,
            zaakobject: Some("9999AA 1".to_owned()),
            initiator: Some(NewRol::initiator("999990032")),
            statuses: vec![NewStatus {
                statustype: statustype::ONTVANGEN.to_owned(),
                datum_status_gezet: NOW,
                actor: "Loket (automatisch)".to_owned(),
                toelichting: "Ontvangen".to_owned(),
            }],
            besluit: Some((
                Outcome::Behandelaar,
                json!({
                    "product": PERMIT, "uitkomst": "behandelaar", "door": "Loket (automatisch)",
                    "regels": [{"id": "auto-op-naam", "naam": {"nl": "Auto op naam", "en": "Car"},
                        "voorwaarde": "x", "grondslag": "Parkeerverordening art. 3",
                        "invoer": ["rdw"], "uitkomst": "behandelaar",
                        "uitleg": {"nl": "Een leaseauto beoordeelt een medewerker.", "en": "Lease"}}],
                    "tarief": null,
                    "uitleg": {"nl": "Een medewerker beoordeelt uw aanvraag.", "en": "Staff will assess."},
                    "gegevens": [], "invoer": {}
                }),
            )),
            resultaat: None,
            documenten: Vec::new(),
            audit: None,
            berichten: Vec::new(),
        };
        self.store.create(&new, NOW).await.unwrap().uuid
    }
}

async fn roles_limit_what_staff_can_do(w: World) {
    let zaak = w.waiting(56).await;
    let kcc = staff("kcc", StaffRole::Kcc);
    let beheer = staff("beheer", StaffRole::Beheerder);
    assert!(matches!(
        w.werk.take(&kcc, zaak).await,
        Err(WerkError::Forbidden)
    ));
    assert!(matches!(
        w.werk
            .decide(&kcc, zaak, Some(Outcome::Toegekend), "ja")
            .await,
        Err(WerkError::Forbidden)
    ));
    assert!(matches!(
        w.werk.queue(&beheer, &QueueFilter::default()).await,
        Err(WerkError::Forbidden)
    ));
    assert!(matches!(
        w.werk.open(&beheer, zaak).await,
        Err(WerkError::Forbidden)
    ));
    w.werk
        .note(&kcc, zaak, "Aanvrager belde: leasecontract volgt")
        .await
        .unwrap();
    let file = w.werk.open(&kcc, zaak).await.unwrap();
    assert_eq!(file.notes.len(), 1);
    let coordinator = staff("coord", StaffRole::Coordinator);
    let assigned = w.werk.assign(&coordinator, zaak, &kcc).await;
    assert!(
        matches!(
            assigned,
            Err(WerkError::Invalid {
                field: "medewerker",
                ..
            })
        ),
        "a KCC employee does not handle cases"
    );
}

async fn a_handler_decides_with_a_reason_and_the_trace_stays(w: World) {
    let zaak = w.waiting(56).await;
    let handler = staff("m.jansen", StaffRole::Behandelaar);
    let not_taken = w
        .werk
        .decide(
            &handler,
            zaak,
            Some(Outcome::Toegekend),
            "Leasecontract gezien",
        )
        .await;
    assert!(matches!(
        not_taken,
        Err(WerkError::Invalid {
            field: "behandelaar",
            ..
        })
    ));
    w.werk.take(&handler, zaak).await.unwrap();
    let no_reason = w
        .werk
        .decide(&handler, zaak, Some(Outcome::Toegekend), "   ")
        .await;
    assert!(matches!(
        no_reason,
        Err(WerkError::Invalid { field: "reden", .. })
    ));
    let no_outcome = w
        .werk
        .decide(&handler, zaak, None, "Leasecontract gezien")
        .await;
    assert!(matches!(
        no_outcome,
        Err(WerkError::Invalid {
            field: "uitkomst",
            ..
        })
    ));
    let closed = w
        .werk
        .decide(
            &handler,
            zaak,
            Some(Outcome::Toegekend),
            "Het leasecontract staat op uw naam.",
        )
        .await
        .unwrap();
    assert_eq!(closed.uitkomst, Some(Outcome::Toegekend));
    assert_eq!(closed.einddatum, Some(date!(2026 - 11 - 23)));
    let file = w.werk.open(&handler, zaak).await.unwrap();
    let record = file.decision.unwrap();
    assert_eq!(
        record.uitleg.nl,
        "U krijgt de bewonersparkeervergunning.\n\nHet leasecontract staat op uw naam."
    );
    // The employee's words, their own paragraph in the English too (marked Dutch there).
    assert_eq!(
        record.uitleg.en,
        "You get the residential parking permit. The reason, in Dutch:\n\nHet leasecontract staat op uw naam."
    );
    assert_eq!(record.door, "Medewerker m.jansen");
    assert_eq!(record.regels.len(), 1, "the rules' trace is kept");
    let person = record.beslissing.unwrap();
    assert_eq!(person.regels_uitkomst, Outcome::Behandelaar);
    assert_eq!(person.medewerker, "m.jansen");
    let actions: Vec<_> = file.audit.iter().map(|a| a.actie.as_str()).collect();
    assert_eq!(actions, vec!["opgepakt", "besloten", "bekeken"]);
    assert!(matches!(
        w.werk
            .decide(&handler, zaak, Some(Outcome::Afgewezen), "Toch niet")
            .await,
        Err(WerkError::Closed)
    ));
    assert!(matches!(
        w.werk.take(&handler, Uuid::now_v7()).await,
        Err(WerkError::NotFound)
    ));
}

async fn the_queue_shows_deadlines_and_my_cases(w: World) {
    let overdue = w.waiting(0).await;
    let soon = w.waiting(3).await;
    let later = w.waiting(30).await;
    let coordinator = staff("coord", StaffRole::Coordinator);
    let handler = staff("m.jansen", StaffRole::Behandelaar);
    let ids = |filter: QueueFilter| {
        let werk = w.werk.clone();
        let me = handler.clone();
        async move {
            let page = werk.queue(&me, &filter).await.unwrap();
            page.items.into_iter().map(|z| z.uuid).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(QueueFilter::default()).await,
        vec![overdue, soon, later]
    );
    let due_soon = QueueFilter {
        deadline: DeadlineFilter::DueSoon,
        ..QueueFilter::default()
    };
    assert_eq!(ids(due_soon).await, vec![overdue, soon]);
    // Today's deadline is not yet overdue.
    let late = QueueFilter {
        deadline: DeadlineFilter::Overdue,
        ..QueueFilter::default()
    };
    assert_eq!(ids(late).await, Vec::<Uuid>::new());
    w.werk.assign(&coordinator, later, &handler).await.unwrap();
    let mine = QueueFilter {
        mine: true,
        ..QueueFilter::default()
    };
    assert_eq!(ids(mine).await, vec![later]);
    let audit = w.store.audit_trail(later).await.unwrap();
    assert_eq!(audit[0].toelichting, "aan Medewerker m.jansen (m.jansen)");
}

async fn a_term_is_suspended_resumed_and_extended_once(w: World) {
    let zaak = w.waiting(0).await;
    let handler = staff("m.jansen", StaffRole::Behandelaar);
    let kcc = staff("kcc", StaffRole::Kcc);
    assert!(matches!(
        w.werk.suspend(&kcc, zaak, "Wacht op leasecontract").await,
        Err(WerkError::Forbidden)
    ));
    assert!(matches!(
        w.werk
            .suspend(&handler, zaak, "Wacht op leasecontract")
            .await,
        Err(WerkError::Invalid {
            field: "behandelaar",
            ..
        })
    ));
    w.werk.take(&handler, zaak).await.unwrap();
    assert!(matches!(
        w.werk.suspend(&handler, zaak, "  ").await,
        Err(WerkError::Invalid {
            field: "opschorting_reden",
            ..
        })
    ));
    let suspended = w
        .werk
        .suspend(&handler, zaak, "Wacht op leasecontract")
        .await
        .unwrap();
    assert_eq!(
        suspended.opschorting.as_ref().map(|o| o.sinds),
        Some(date!(2026 - 11 - 23))
    );
    // Due today, so "overdue" tomorrow, but not while it is suspended.
    w.clock.advance(time::Duration::days(10));
    let late = QueueFilter {
        deadline: DeadlineFilter::Overdue,
        ..QueueFilter::default()
    };
    let page = w.werk.queue(&handler, &late).await.unwrap();
    assert_eq!(page.total, 0, "a suspended case is not late");
    let resumed = w.werk.resume(&handler, zaak).await.unwrap();
    assert_eq!(resumed.opschorting, None);
    assert_eq!(resumed.einddatum_gepland, date!(2026 - 12 - 03));
    assert_eq!(
        resumed.uiterlijke_einddatum_afdoening,
        date!(2026 - 12 - 03)
    );
    assert!(matches!(
        w.werk.resume(&handler, zaak).await,
        Err(WerkError::Invalid {
            field: "termijn",
            ..
        })
    ));
    assert!(matches!(
        w.werk
            .extend(&handler, zaak, Some(57), "Advies nodig")
            .await,
        Err(WerkError::Invalid {
            field: "verlenging_dagen",
            ..
        })
    ));
    let extended = w
        .werk
        .extend(&handler, zaak, Some(14), "Advies van de RDW nodig")
        .await
        .unwrap();
    assert_eq!(
        extended.uiterlijke_einddatum_afdoening,
        date!(2026 - 12 - 17)
    );
    assert_eq!(extended.verlenging.map(|v| v.dagen), Some(14));
    assert!(matches!(
        w.werk.extend(&handler, zaak, Some(7), "Nog eens").await,
        Err(WerkError::Invalid {
            field: "termijn",
            ..
        })
    ));
    let actions: Vec<String> = w
        .store
        .audit_trail(zaak)
        .await
        .unwrap()
        .into_iter()
        .map(|a| format!("{}: {}", a.actie, a.toelichting))
        .collect();
    assert_eq!(
        actions,
        vec![
            "opgepakt: ".to_owned(),
            "opgeschort: Wacht op leasecontract".to_owned(),
            "hervat: termijn 10 dagen later".to_owned(),
            "verlengd: 14 dagen: Advies van de RDW nodig".to_owned(),
        ]
    );
}

async fn a_term_is_not_changed_from_a_stale_copy(w: World) {
    let zaak = w.waiting(56).await;
    let before = w.store.get(zaak).await.unwrap().unwrap().termijn();
    let handler = staff("coord", StaffRole::Coordinator);
    w.werk
        .extend(&handler, zaak, Some(7), "Advies nodig")
        .await
        .unwrap();
    // A second writer that read the term before the extension: its change is refused.
    let stale = loket_zaken::termijn::extend(&before, "Ander advies", 10, 56).unwrap();
    let audit = loket_zaken::zaak::AuditEntry {
        actor: "ander".to_owned(),
        actie: "verlengd".to_owned(),
        toelichting: String::new(),
        moment: NOW,
    };
    assert!(
        w.store
            .change_term(zaak, &before, &stale, &audit)
            .await
            .unwrap()
            .is_none()
    );
    let now = w.store.get(zaak).await.unwrap().unwrap();
    assert_eq!(now.verlenging.map(|v| v.dagen), Some(7));
}

loket_store::contract_suite! {
    open = open;
    tests = [
        roles_limit_what_staff_can_do,
        a_handler_decides_with_a_reason_and_the_trace_stays,
        the_queue_shows_deadlines_and_my_cases,
        a_term_is_suspended_resumed_and_extended_once,
        a_term_is_not_changed_from_a_stale_copy,
    ];
}
