//! What the workspace pages show, prepared as plain text so the templates only lay it out:
//! Dutch labels, dates as people write them (in Dutch time), deadlines in words.

use loket_zaken::bijlage::Soort;
use loket_zaken::decision::DecisionRecord;
use loket_zaken::rules::RuleOutcome;
use loket_zaken::werk::{
    Action, CaseFile, Deadline, DeadlineFilter, Medewerker, QUEUE_PAGE_SIZE, QueueFilter,
    StaffRole, Werk,
};
use loket_zaken::zaak::{Outcome, Page, Zaak, statustype};
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};
use uuid::Uuid;

use super::WerkplekSettings;

/// What every workspace page's layout needs.
pub(super) struct Layout<'a> {
    pub(super) municipality: &'a str,
    pub(super) demo: bool,
    pub(super) me: Option<String>,
    pub(super) csrf: &'a str,
}

impl<'a> Layout<'a> {
    pub(super) fn new(
        settings: &'a WerkplekSettings,
        me: Option<&Medewerker>,
        csrf: &'a str,
    ) -> Self {
        Self {
            municipality: &settings.municipality,
            demo: settings.demo,
            me: me.map(|m| {
                let roles: Vec<&str> = m.rollen.iter().map(|r| role_label(*r)).collect();
                format!("{} — {}", m.naam, roles.join(", "))
            }),
            csrf,
        }
    }
}

/// A form error: the field it belongs to (its id on the page) and what to do.
#[derive(Debug, Clone)]
pub(super) struct FieldError {
    pub(super) field: &'static str,
    pub(super) message: &'static str,
}

impl FieldError {
    pub(super) fn new(field: &'static str, message: &'static str) -> Self {
        Self { field, message }
    }
}

/// One option of a select.
#[derive(Debug, Clone)]
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

fn choice(value: &str, label: &str, current: Option<&str>) -> Choice {
    Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: current == Some(value),
    }
}

pub(super) fn role_label(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Behandelaar => "behandelaar",
        StaffRole::Kcc => "KCC-medewerker",
        StaffRole::Coordinator => "coördinator",
        StaffRole::Beheerder => "beheerder",
    }
}

pub(super) fn deadline_filter(text: Option<&str>) -> DeadlineFilter {
    match text {
        Some("binnenkort") => DeadlineFilter::DueSoon,
        Some("verlopen") => DeadlineFilter::Overdue,
        _ => DeadlineFilter::All,
    }
}

pub(super) fn done_notice(action: &str) -> Option<&'static str> {
    match action {
        "oppakken" => Some("U behandelt deze zaak nu."),
        "toewijzen" => Some("De zaak is toegewezen."),
        "besluiten" => Some("Het besluit is genomen. De aanvrager krijgt het bericht."),
        "notitie" => Some("De notitie is toegevoegd."),
        "opschorten" => {
            Some("De termijn is opgeschort. Hij loopt weer als u de opschorting beëindigt.")
        }
        "hervatten" => Some(
            "De termijn loopt weer. De einddatum is opgeschoven met de dagen van de opschorting.",
        ),
        "verlengen" => Some("De termijn is verlengd."),
        _ => None,
    }
}

fn status_label(code: Option<&str>) -> &'static str {
    match code {
        Some(statustype::ONTVANGEN) => "Ontvangen",
        Some(statustype::IN_BEHANDELING) => "In behandeling",
        Some(statustype::AFGEHANDELD) => "Afgehandeld",
        _ => "Nog geen status",
    }
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Toegekend => "Toegekend",
        Outcome::Afgewezen => "Afgewezen",
        Outcome::Behandelaar => "Naar een medewerker",
    }
}

fn rule_label(outcome: RuleOutcome) -> &'static str {
    match outcome {
        RuleOutcome::Voldaan => "Voldaan",
        RuleOutcome::NietVoldaan => "Niet voldaan",
        RuleOutcome::Behandelaar => "Medewerker beoordeelt",
        RuleOutcome::Onbeslist => "Niet te bepalen",
    }
}

/// Which register a source name means, and who keeps it.
fn source_label(bron: &str) -> String {
    match bron.to_ascii_lowercase().as_str() {
        "brp" => "BRP (Basisregistratie Personen, RvIG)".to_owned(),
        "rdw" => "Kentekenregister (RDW)".to_owned(),
        "inkomen" => "Inkomensregister".to_owned(),
        "reisdocumenten" => "Reisdocumenten (RvIG)".to_owned(),
        "duo" => "Onderwijsinschrijvingen (DUO)".to_owned(),
        _ => bron.to_owned(),
    }
}

pub(super) fn date_nl(date: Date) -> String {
    loket_core::datum::lang_formaat(date)
}

/// The last Sunday of `month`, the day the Netherlands changes clocks.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let mut day = Date::from_calendar_date(year, month, 31).ok()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(day)
}

/// Dutch time: CEST (UTC+2) from the last Sunday of March to the last Sunday of October,
/// both at 01:00 UTC; CET (UTC+1) otherwise.
pub(crate) fn dutch_time(moment: OffsetDateTime) -> OffsetDateTime {
    let utc = moment.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let summer = match (
        last_sunday(year, Month::March),
        last_sunday(year, Month::October),
    ) {
        (Some(start), Some(end)) => {
            let start = start.with_hms(1, 0, 0).map(|t| t.assume_utc());
            let end = end.with_hms(1, 0, 0).map(|t| t.assume_utc());
            matches!((start, end), (Ok(s), Ok(e)) if utc >= s && utc < e)
        }
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    utc.to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC))
}

pub(super) fn moment_nl(moment: OffsetDateTime) -> String {
    let local = dutch_time(moment);
    format!(
        "{} om {:02}:{:02}",
        date_nl(local.date()),
        local.hour(),
        local.minute()
    )
}

/// The deadline in words (never colour alone) and a class for its look.
fn deadline_text(zaak: &Zaak, today: Date) -> (String, &'static str) {
    match Deadline::for_case(zaak, today) {
        Deadline::Suspended { since } => (format!("Opgeschort sinds {}", date_nl(since)), "paused"),
        Deadline::Overdue { days_late: 1 } => ("Te laat: 1 dag".to_owned(), "overdue"),
        Deadline::Overdue { days_late } => (format!("Te laat: {days_late} dagen"), "overdue"),
        Deadline::DueSoon { days_left: 0 } => ("Vandaag de laatste dag".to_owned(), "soon"),
        Deadline::DueSoon { days_left: 1 } => ("Binnenkort: nog 1 dag".to_owned(), "soon"),
        Deadline::DueSoon { days_left } => (format!("Binnenkort: nog {days_left} dagen"), "soon"),
        Deadline::OnTrack { days_left } => (format!("Nog {days_left} dagen"), "ok"),
    }
}

fn product_name(werk: &Werk, zaaktype: &str) -> String {
    werk.catalogue()
        .product(zaaktype)
        .map_or_else(|| zaaktype.to_owned(), |p| p.naam.nl.clone())
}

#[derive(Debug)]
pub(super) struct QueueRow {
    pub(super) uuid: Uuid,
    pub(super) identificatie: String,
    pub(super) product: String,
    pub(super) status: &'static str,
    pub(super) behandelaar: String,
    pub(super) due: String,
    pub(super) deadline: String,
    pub(super) deadline_class: &'static str,
}

#[derive(Debug)]
pub(super) struct QueueView {
    pub(super) products: Vec<Choice>,
    pub(super) statuses: Vec<Choice>,
    pub(super) deadlines: Vec<Choice>,
    pub(super) mine: bool,
    pub(super) total: u64,
    pub(super) rows: Vec<QueueRow>,
    pub(super) page: u32,
    pub(super) pages: u64,
    pub(super) previous: Option<String>,
    pub(super) next: Option<String>,
}

impl QueueView {
    pub(super) fn new(werk: &Werk, filter: &QueueFilter, page: &Page<Zaak>) -> Self {
        let today = werk.today();
        let product = filter.zaaktype.as_deref();
        let status = filter.status.as_deref();
        let deadline = match filter.deadline {
            DeadlineFilter::All => "",
            DeadlineFilter::DueSoon => "binnenkort",
            DeadlineFilter::Overdue => "verlopen",
        };
        let mut products = vec![choice("", "Alle producten", product.or(Some("")))];
        products.extend(
            werk.catalogue()
                .products()
                .iter()
                .map(|p| choice(&p.id, &p.naam.nl, product)),
        );
        let statuses = vec![
            choice("", "Alle statussen", status.or(Some(""))),
            choice(statustype::ONTVANGEN, "Ontvangen", status),
            choice(statustype::IN_BEHANDELING, "In behandeling", status),
        ];
        let deadlines = vec![
            choice("", "Alle termijnen", Some(deadline)),
            choice("binnenkort", "Binnenkort of te laat", Some(deadline)),
            choice("verlopen", "Te laat", Some(deadline)),
        ];
        let rows = page
            .items
            .iter()
            .map(|zaak| {
                let (text, class) = deadline_text(zaak, today);
                QueueRow {
                    uuid: zaak.uuid,
                    identificatie: zaak.identificatie.clone(),
                    product: product_name(werk, &zaak.zaaktype),
                    status: status_label(zaak.status.as_deref()),
                    behandelaar: zaak
                        .behandelaar
                        .clone()
                        .unwrap_or_else(|| "Niemand".to_owned()),
                    due: date_nl(zaak.einddatum_gepland),
                    deadline: text,
                    deadline_class: class,
                }
            })
            .collect();
        let pages = page.total.div_ceil(u64::from(QUEUE_PAGE_SIZE)).max(1);
        let current = filter.page.max(1);
        let link = |page: u32| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("product", product.unwrap_or_default()),
                ("status", status.unwrap_or_default()),
                ("termijn", deadline),
            ] {
                if !value.is_empty() {
                    query.append_pair(name, value);
                }
            }
            if filter.mine {
                query.append_pair("mijn", "ja");
            }
            query.append_pair("pagina", &page.to_string());
            format!("/werkplek?{}", query.finish())
        };
        Self {
            products,
            statuses,
            deadlines,
            mine: filter.mine,
            total: page.total,
            rows,
            page: current,
            pages,
            previous: (current > 1).then(|| link(current - 1)),
            next: (u64::from(current) < pages).then(|| link(current + 1)),
        }
    }
}

#[derive(Debug)]
pub(super) struct RuleRow {
    pub(super) naam: String,
    pub(super) grondslag: String,
    pub(super) invoer: String,
    pub(super) uitkomst: &'static str,
    pub(super) uitleg: String,
}

#[derive(Debug)]
pub(super) struct DataRow {
    pub(super) naam: String,
    pub(super) bron: String,
    pub(super) dienst: String,
    pub(super) activiteit: String,
    pub(super) trace_id: String,
    pub(super) waarden: String,
    pub(super) fout: String,
}

#[derive(Debug)]
pub(super) struct DecisionView {
    pub(super) uitkomst: &'static str,
    pub(super) door: String,
    pub(super) uitleg: String,
    pub(super) bezwaar: String,
    pub(super) regels_uitkomst: Option<&'static str>,
    pub(super) tarief: String,
    pub(super) rules: Vec<RuleRow>,
    pub(super) data: Vec<DataRow>,
}

impl DecisionView {
    fn new(record: &DecisionRecord) -> Self {
        Self {
            uitkomst: outcome_label(record.uitkomst),
            door: record.door.clone(),
            uitleg: record.uitleg.nl.clone(),
            bezwaar: record
                .bezwaar
                .as_ref()
                .map(|b| b.nl.clone())
                .unwrap_or_default(),
            regels_uitkomst: record
                .beslissing
                .as_ref()
                .map(|b| outcome_label(b.regels_uitkomst)),
            tarief: record
                .tarief
                .as_ref()
                .map(|t| format!("{} ({})", t.uitleg.nl, t.grondslag))
                .unwrap_or_default(),
            rules: record
                .regels
                .iter()
                .map(|rule| RuleRow {
                    naam: rule.naam.nl.clone(),
                    grondslag: rule.grondslag.clone(),
                    invoer: rule.invoer.join(", "),
                    uitkomst: rule_label(rule.uitkomst),
                    uitleg: rule.uitleg.nl.clone(),
                })
                .collect(),
            data: record
                .gegevens
                .iter()
                .map(|used| DataRow {
                    naam: used.naam.clone(),
                    bron: source_label(&used.bron),
                    dienst: used.dienst.clone(),
                    activiteit: used.verwerkingsactiviteit.clone().unwrap_or_default(),
                    trace_id: used.trace_id.clone(),
                    waarden: used
                        .waarden
                        .as_ref()
                        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                        .unwrap_or_default(),
                    fout: used.fout.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

#[derive(Debug)]
pub(super) struct LogRow {
    pub(super) moment: String,
    pub(super) wie: String,
    pub(super) wat: String,
    pub(super) toelichting: String,
}

#[derive(Debug)]
pub(super) struct DocumentRow {
    pub(super) href: String,
    pub(super) omschrijving: String,
    pub(super) bestandsnaam: String,
    pub(super) soort: &'static str,
    pub(super) grootte: String,
    pub(super) sha256: String,
    pub(super) moment: String,
}

/// "1,4 MB", "820 kB": sizes as people read them.
fn size_nl(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        let tenths = bytes.div_ceil(100_000);
        format!("{},{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} kB", bytes.div_ceil(1000))
    }
}

#[derive(Debug)]
pub(super) struct CaseView {
    pub(super) uuid: Uuid,
    pub(super) identificatie: String,
    pub(super) product: String,
    pub(super) status: &'static str,
    pub(super) aanvragers: Vec<String>,
    pub(super) registratiedatum: String,
    pub(super) due: String,
    pub(super) deadline: String,
    pub(super) deadline_class: &'static str,
    pub(super) behandelaar: String,
    pub(super) decision: Option<DecisionView>,
    pub(super) statuses: Vec<LogRow>,
    pub(super) notes: Vec<LogRow>,
    pub(super) documents: Vec<DocumentRow>,
    pub(super) audit: Vec<LogRow>,
    pub(super) can_take: bool,
    pub(super) can_assign: bool,
    pub(super) can_decide: bool,
    pub(super) can_note: bool,
    /// The reason, while the term is suspended.
    pub(super) opschorting: Option<String>,
    /// "14 dagen: …", once the term was extended.
    pub(super) verlenging: Option<String>,
    pub(super) max_verlenging: u16,
    pub(super) handlers: Vec<Choice>,
    pub(super) notice: Option<&'static str>,
}

impl CaseView {
    pub(super) fn new(
        werk: &Werk,
        me: &Medewerker,
        file: &CaseFile,
        handlers: &[Medewerker],
        notice: Option<&'static str>,
    ) -> Self {
        let zaak = &file.zaak;
        let closed = zaak.einddatum.is_some();
        let mine = zaak.behandelaar.as_deref() == Some(me.id.as_str());
        let (deadline, deadline_class) = match zaak.einddatum {
            Some(end) => (format!("Afgehandeld op {}", date_nl(end)), "done"),
            None => deadline_text(zaak, werk.today()),
        };
        let can_decide =
            !closed && me.may(Action::Decide) && (mine || me.has(StaffRole::Coordinator));
        Self {
            uuid: zaak.uuid,
            identificatie: zaak.identificatie.clone(),
            product: product_name(werk, &zaak.zaaktype),
            status: status_label(zaak.status.as_deref()),
            aanvragers: file
                .roles
                .iter()
                .filter(|r| r.omschrijving_generiek == "initiator")
                .filter_map(|r| r.bsn.clone())
                .collect(),
            registratiedatum: date_nl(zaak.registratiedatum),
            due: date_nl(zaak.einddatum_gepland),
            deadline,
            deadline_class,
            behandelaar: zaak
                .behandelaar
                .clone()
                .unwrap_or_else(|| "Niemand".to_owned()),
            decision: file.decision.as_ref().map(DecisionView::new),
            statuses: file
                .statuses
                .iter()
                .map(|s| LogRow {
                    moment: moment_nl(s.datum_status_gezet),
                    wie: s.actor.clone(),
                    wat: status_label(Some(&s.statustype)).to_owned(),
                    toelichting: s.toelichting.clone(),
                })
                .collect(),
            notes: file
                .notes
                .iter()
                .map(|n| LogRow {
                    moment: moment_nl(n.moment),
                    wie: n.auteur.clone(),
                    wat: String::new(),
                    toelichting: n.tekst.clone(),
                })
                .collect(),
            documents: file
                .documents
                .iter()
                .map(|d| DocumentRow {
                    href: format!("/werkplek/zaken/{}/documenten/{}", zaak.uuid, d.uuid),
                    omschrijving: werk
                        .catalogue()
                        .product(&zaak.zaaktype)
                        .and_then(|p| p.bijlagen.iter().find(|a| a.naam == d.naam))
                        .map_or_else(|| d.naam.clone(), |a| a.omschrijving.nl.clone()),
                    bestandsnaam: d.bestandsnaam.clone(),
                    soort: match d.soort {
                        Soort::Pdf => "PDF",
                        Soort::Png => "PNG",
                        Soort::Jpeg => "JPG",
                    },
                    grootte: size_nl(d.grootte),
                    sha256: d.sha256.clone(),
                    moment: moment_nl(d.toegevoegd),
                })
                .collect(),
            audit: file
                .audit
                .iter()
                .map(|a| LogRow {
                    moment: moment_nl(a.moment),
                    wie: a.actor.clone(),
                    wat: a.actie.clone(),
                    toelichting: a.toelichting.clone(),
                })
                .collect(),
            can_take: !closed && !mine && me.may(Action::Take),
            can_assign: !closed && me.may(Action::Assign),
            can_decide,
            opschorting: zaak.opschorting.as_ref().map(|o| o.reden.clone()),
            verlenging: zaak
                .verlenging
                .as_ref()
                .map(|v| format!("{} dagen: {}", v.dagen, v.reden)),
            max_verlenging: werk
                .catalogue()
                .product(&zaak.zaaktype)
                .map_or(0, |p| p.behandeltermijn_dagen),
            can_note: me.may(Action::Note),
            handlers: handlers
                .iter()
                .map(|m| {
                    choice(
                        &m.id,
                        &format!("{} ({})", m.naam, m.id),
                        zaak.behandelaar.as_deref(),
                    )
                })
                .collect(),
            notice,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn moments_are_shown_in_dutch_time_across_daylight_saving() {
        assert_eq!(
            moment_nl(datetime!(2026-11-23 10:00 UTC)),
            "23 november 2026 om 11:00"
        );
        assert_eq!(
            moment_nl(datetime!(2026-07-01 10:00 UTC)),
            "1 juli 2026 om 12:00"
        );
        // 2026's summer time starts on 29 March at 01:00 UTC.
        assert_eq!(
            moment_nl(datetime!(2026-03-29 00:59 UTC)),
            "29 maart 2026 om 01:59"
        );
        assert_eq!(
            moment_nl(datetime!(2026-03-29 01:00 UTC)),
            "29 maart 2026 om 03:00"
        );
    }

    fn due_on(date: Date) -> Zaak {
        Zaak {
            uuid: Uuid::nil(),
            identificatie: String::new(),
            bronorganisatie: String::new(),
            zaaktype: String::new(),
            omschrijving: String::new(),
            registratiedatum: date,
            startdatum: date,
            einddatum_gepland: date,
            uiterlijke_einddatum_afdoening: date,
            einddatum: None,
            opschorting: None,
            verlenging: None,
            zaakobject: None,
            status: None,
            status_count: 0,
            uitkomst: None,
            behandelaar: None,
            besluit: None,
            aangemaakt: datetime!(2026-11-23 10:00 UTC),
            status_uuid: None,
            resultaat_uuid: None,
        }
    }

    #[test]
    fn sizes_are_in_words_people_use() {
        assert_eq!(size_nl(820_000), "820 kB");
        assert_eq!(size_nl(1_400_000), "1,4 MB");
        assert_eq!(size_nl(1), "1 kB");
    }

    #[test]
    fn deadlines_are_in_words() {
        let today = date!(2026 - 11 - 23);
        let text = |due| deadline_text(&due_on(due), today).0;
        assert_eq!(text(date!(2026 - 11 - 20)), "Te laat: 3 dagen");
        assert_eq!(text(today), "Vandaag de laatste dag");
        assert_eq!(text(date!(2026 - 11 - 25)), "Binnenkort: nog 2 dagen");
        assert_eq!(text(date!(2027 - 01 - 18)), "Nog 56 dagen");
        let mut suspended = due_on(date!(2026 - 11 - 20));
        suspended.opschorting = Some(loket_zaken::zaak::Opschorting {
            reden: "Wacht op leaseverklaring".to_owned(),
            sinds: date!(2026 - 11 - 19),
        });
        assert_eq!(
            deadline_text(&suspended, today).0,
            "Opgeschort sinds 19 november 2026",
            "a suspended case is not late"
        );
    }
}
