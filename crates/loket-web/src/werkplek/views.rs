//! What the workspace pages show, prepared as plain text so the templates only lay it out:
//! labels in Dutch or English, dates as people write them (in Dutch time), deadlines in
//! words.

use loket_zaken::bijlage::Soort;
use loket_zaken::decision::DecisionRecord;
use loket_zaken::rules::RuleOutcome;
use loket_zaken::werk::{
    Action, CaseFile, Deadline, DeadlineFilter, Medewerker, QUEUE_PAGE_SIZE, QueueFilter,
    StaffRole, Werk,
};
use loket_zaken::zaak::{Outcome, Page, Zaak, statustype};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::WerkplekSettings;
use crate::Lang;
use crate::i18n::{Said, paragraphs};

/// What every workspace page's layout needs.
pub(super) struct Layout<'a> {
    pub(super) lang: Lang,
    /// The current path, for the language switch link.
    pub(super) path: String,
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
        lang: Lang,
        path: &str,
    ) -> Self {
        Self {
            lang,
            path: path.to_owned(),
            municipality: &settings.municipality,
            demo: settings.demo,
            me: me.map(|m| {
                let roles: Vec<&str> = m.rollen.iter().map(|r| role_label(*r, lang)).collect();
                format!("{} — {}", m.naam, roles.join(", "))
            }),
            csrf,
        }
    }

    /// The text in the page's language: both are always given, so none is missing.
    pub(super) fn t<'t>(&self, nl: &'t str, en: &'t str) -> &'t str {
        self.lang.pick(nl, en)
    }

    pub(super) fn other_code(&self) -> &'static str {
        match self.lang {
            Lang::Nl => "en",
            Lang::En => "nl",
        }
    }

    /// This page in the other language, its own query (filters, page) kept.
    pub(super) fn switch_href(&self) -> String {
        crate::i18n::switch_href(&self.path, self.other_code())
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

pub(super) fn role_label(role: StaffRole, lang: Lang) -> &'static str {
    let (nl, en) = match role {
        StaffRole::Behandelaar => ("behandelaar", "case handler"),
        StaffRole::Kcc => ("KCC-medewerker", "contact centre employee"),
        StaffRole::Coordinator => ("coördinator", "coordinator"),
        StaffRole::Beheerder => ("beheerder", "administrator"),
    };
    lang.pick(nl, en)
}

pub(super) fn deadline_filter(text: Option<&str>) -> DeadlineFilter {
    match text {
        Some("binnenkort") => DeadlineFilter::DueSoon,
        Some("verlopen") => DeadlineFilter::Overdue,
        _ => DeadlineFilter::All,
    }
}

pub(super) fn done_notice(action: &str, lang: Lang) -> Option<&'static str> {
    let (nl, en) = match action {
        "oppakken" => (
            "U behandelt deze zaak nu.",
            "You are now handling this case.",
        ),
        "toewijzen" => ("De zaak is toegewezen.", "The case has been assigned."),
        "besluiten" => (
            "Het besluit is genomen. De aanvrager krijgt het bericht.",
            "The decision has been made. The applicant will receive the message.",
        ),
        "notitie" => ("De notitie is toegevoegd.", "The note has been added."),
        "opschorten" => (
            "De termijn is opgeschort. Hij loopt weer als u de opschorting beëindigt.",
            "The term has been suspended. It runs again when you end the suspension.",
        ),
        "hervatten" => (
            "De termijn loopt weer. De einddatum is opgeschoven met de dagen van de opschorting.",
            "The term runs again. The end date has moved by the days of the suspension.",
        ),
        "verlengen" => ("De termijn is verlengd.", "The term has been extended."),
        _ => return None,
    };
    Some(lang.pick(nl, en))
}

fn status_label(code: Option<&str>, lang: Lang) -> &'static str {
    let (nl, en) = match code {
        Some(statustype::ONTVANGEN) => ("Ontvangen", "Received"),
        Some(statustype::IN_BEHANDELING) => ("In behandeling", "In progress"),
        Some(statustype::AFGEHANDELD) => ("Afgehandeld", "Closed"),
        _ => ("Nog geen status", "No status yet"),
    };
    lang.pick(nl, en)
}

fn outcome_label(outcome: Outcome, lang: Lang) -> &'static str {
    let (nl, en) = match outcome {
        Outcome::Toegekend => ("Toegekend", "Granted"),
        Outcome::Afgewezen => ("Afgewezen", "Refused"),
        Outcome::Behandelaar => ("Naar een medewerker", "To an employee"),
    };
    lang.pick(nl, en)
}

fn rule_label(outcome: RuleOutcome, lang: Lang) -> &'static str {
    let (nl, en) = match outcome {
        RuleOutcome::Voldaan => ("Voldaan", "Met"),
        RuleOutcome::NietVoldaan => ("Niet voldaan", "Not met"),
        RuleOutcome::Behandelaar => ("Medewerker beoordeelt", "An employee assesses"),
        RuleOutcome::Onbeslist => ("Niet te bepalen", "Cannot be determined"),
    };
    lang.pick(nl, en)
}

/// Which register a source name means, and who keeps it.
fn source_label(bron: &str, lang: Lang) -> String {
    let (nl, en) = match bron.to_ascii_lowercase().as_str() {
        "brp" => (
            "BRP (Basisregistratie Personen, RvIG)",
            "BRP (Personal Records Database, RvIG)",
        ),
        "rdw" => ("Kentekenregister (RDW)", "Vehicle register (RDW)"),
        "inkomen" => ("Inkomensregister", "Income register"),
        "reisdocumenten" => ("Reisdocumenten (RvIG)", "Travel documents (RvIG)"),
        "duo" => (
            "Onderwijsinschrijvingen (DUO)",
            "Education enrolments (DUO)",
        ),
        _ => return bron.to_owned(),
    };
    lang.pick(nl, en).to_owned()
}

pub(super) fn date_nl(date: Date) -> String {
    loket_core::datum::lang_formaat(date)
}

/// A date in the page's language, as the portal writes it.
fn day(date: Date, lang: Lang) -> String {
    crate::portaal::views::day(date, lang)
}

/// A moment in Dutch time: Dutch as the workspace always wrote it, English as the portal
/// writes it.
fn moment(moment: OffsetDateTime, lang: Lang) -> String {
    match lang {
        Lang::Nl => moment_nl(moment),
        Lang::En => crate::portaal::views::moment(moment, lang),
    }
}

pub(super) fn moment_nl(moment: OffsetDateTime) -> String {
    let local = loket_core::dutch_time(moment);
    format!(
        "{} om {:02}:{:02}",
        date_nl(local.date()),
        local.hour(),
        local.minute()
    )
}

/// What the case's audit trail says was done. The store keeps the Dutch word; the known
/// ones are read out in English too, anything else as it was stored.
/// Who did something: an employee's name, or Loket itself in the page's language.
fn who(actor: &str, lang: Lang) -> String {
    if actor == loket_zaken::decision::AUTOMATIC {
        lang.pick(actor, "Loket (automatic)").to_owned()
    } else {
        actor.to_owned()
    }
}

fn audit_action(actie: &str, lang: Lang) -> String {
    let en = match actie {
        "bekeken" => "viewed",
        "opgepakt" => "taken",
        "toegewezen" => "assigned",
        "besloten" => "decided",
        "document bekeken" => "document viewed",
        "opgeschort" => "suspended",
        "hervat" => "resumed",
        "verlengd" => "extended",
        "notitie" => "note added",
        // What other systems do through the Zaken API.
        "aangemaakt" => "created",
        "rol toegevoegd" => "role added",
        "status gezet" => "status set",
        "resultaat" => "result recorded",
        _ => actie,
    };
    lang.pick(actie, en).to_owned()
}

/// The deadline in words (never colour alone) and a class for its look.
fn deadline_text(zaak: &Zaak, today: Date, lang: Lang) -> (String, &'static str) {
    match (Deadline::for_case(zaak, today), lang) {
        (Deadline::Suspended { since }, Lang::Nl) => {
            (format!("Opgeschort sinds {}", day(since, lang)), "paused")
        }
        (Deadline::Suspended { since }, Lang::En) => {
            (format!("Suspended since {}", day(since, lang)), "paused")
        }
        (Deadline::Overdue { days_late: 1 }, Lang::Nl) => ("Te laat: 1 dag".to_owned(), "overdue"),
        (Deadline::Overdue { days_late: 1 }, Lang::En) => ("Late: 1 day".to_owned(), "overdue"),
        (Deadline::Overdue { days_late }, Lang::Nl) => {
            (format!("Te laat: {days_late} dagen"), "overdue")
        }
        (Deadline::Overdue { days_late }, Lang::En) => {
            (format!("Late: {days_late} days"), "overdue")
        }
        (Deadline::DueSoon { days_left: 0 }, _) => (
            lang.pick("Vandaag de laatste dag", "Today is the last day")
                .to_owned(),
            "soon",
        ),
        (Deadline::DueSoon { days_left: 1 }, _) => (
            lang.pick("Binnenkort: nog 1 dag", "Due soon: 1 day left")
                .to_owned(),
            "soon",
        ),
        (Deadline::DueSoon { days_left }, Lang::Nl) => {
            (format!("Binnenkort: nog {days_left} dagen"), "soon")
        }
        (Deadline::DueSoon { days_left }, Lang::En) => {
            (format!("Due soon: {days_left} days left"), "soon")
        }
        (Deadline::OnTrack { days_left }, Lang::Nl) => (format!("Nog {days_left} dagen"), "ok"),
        (Deadline::OnTrack { days_left }, Lang::En) => (format!("{days_left} days left"), "ok"),
    }
}

fn product_name(werk: &Werk, zaaktype: &str, lang: Lang) -> String {
    werk.catalogue().product(zaaktype).map_or_else(
        || zaaktype.to_owned(),
        |p| p.naam.get(lang == Lang::En).to_owned(),
    )
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
    /// This page with its filters, for the language switch.
    pub(super) here: String,
    pub(super) previous: Option<String>,
    pub(super) next: Option<String>,
}

impl QueueView {
    pub(super) fn new(werk: &Werk, filter: &QueueFilter, page: &Page<Zaak>, lang: Lang) -> Self {
        let today = werk.today();
        let product = filter.zaaktype.as_deref();
        let status = filter.status.as_deref();
        let deadline = match filter.deadline {
            DeadlineFilter::All => "",
            DeadlineFilter::DueSoon => "binnenkort",
            DeadlineFilter::Overdue => "verlopen",
        };
        let l = |nl, en| lang.pick(nl, en);
        let mut products = vec![choice(
            "",
            l("Alle producten", "All products"),
            product.or(Some("")),
        )];
        products.extend(
            werk.catalogue()
                .products()
                .iter()
                .map(|p| choice(&p.id, p.naam.get(lang == Lang::En), product)),
        );
        let statuses = vec![
            choice("", l("Alle statussen", "All statuses"), status.or(Some(""))),
            choice(
                statustype::ONTVANGEN,
                status_label(Some(statustype::ONTVANGEN), lang),
                status,
            ),
            choice(
                statustype::IN_BEHANDELING,
                status_label(Some(statustype::IN_BEHANDELING), lang),
                status,
            ),
        ];
        let deadlines = vec![
            choice("", l("Alle termijnen", "All terms"), Some(deadline)),
            choice(
                "binnenkort",
                l("Binnenkort of te laat", "Due soon or late"),
                Some(deadline),
            ),
            choice("verlopen", l("Te laat", "Late"), Some(deadline)),
        ];
        let rows = page
            .items
            .iter()
            .map(|zaak| {
                let (text, class) = deadline_text(zaak, today, lang);
                QueueRow {
                    uuid: zaak.uuid,
                    identificatie: zaak.identificatie.clone(),
                    product: product_name(werk, &zaak.zaaktype, lang),
                    status: status_label(zaak.status.as_deref(), lang),
                    behandelaar: zaak
                        .behandelaar
                        .clone()
                        .unwrap_or_else(|| l("Niemand", "Nobody").to_owned()),
                    due: day(zaak.einddatum_gepland, lang),
                    deadline: text,
                    deadline_class: class,
                }
            })
            .collect();
        let pages = page.total.div_ceil(u64::from(QUEUE_PAGE_SIZE)).max(1);
        let current = filter.page.max(1);
        // This page's own address (the language switch keeps its filters); page 1
        // without filters is plain `/werkplek`.
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
            if page > 1 {
                query.append_pair("pagina", &page.to_string());
            }
            let query = query.finish();
            if query.is_empty() {
                "/werkplek".to_owned()
            } else {
                format!("/werkplek?{query}")
            }
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
            here: link(current),
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
    pub(super) uitleg: Vec<Said>,
    pub(super) bezwaar: String,
    pub(super) regels_uitkomst: Option<&'static str>,
    pub(super) tarief: Said,
    pub(super) rules: Vec<RuleRow>,
    pub(super) data: Vec<DataRow>,
}

impl DecisionView {
    fn new(record: &DecisionRecord, lang: Lang) -> Self {
        let english = lang == Lang::En;
        Self {
            uitkomst: outcome_label(record.uitkomst, lang),
            door: who(&record.door, lang),
            uitleg: paragraphs(&record.uitleg.nl, &record.uitleg.en, lang),
            bezwaar: record
                .bezwaar
                .as_ref()
                .map(|b| b.get(english).to_owned())
                .unwrap_or_default(),
            regels_uitkomst: record
                .beslissing
                .as_ref()
                .map(|b| outcome_label(b.regels_uitkomst, lang)),
            tarief: record
                .tarief
                .as_ref()
                .map(|t| {
                    Said::plain(format!("{} (", t.uitleg.get(english)))
                        .then(Said::dutch(t.grondslag.clone(), lang))
                        .and(")", false)
                })
                .unwrap_or_default(),
            rules: record
                .regels
                .iter()
                .map(|rule| RuleRow {
                    naam: rule.naam.get(english).to_owned(),
                    grondslag: rule.grondslag.clone(),
                    invoer: rule.invoer.join(", "),
                    uitkomst: rule_label(rule.uitkomst, lang),
                    uitleg: rule.uitleg.get(english).to_owned(),
                })
                .collect(),
            data: record
                .gegevens
                .iter()
                .map(|used| DataRow {
                    naam: used.naam.clone(),
                    bron: source_label(&used.bron, lang),
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

/// "1,4 MB" / "1.4 MB", "820 kB": sizes as people read them.
fn size(bytes: u64, lang: Lang) -> String {
    if bytes >= 1_000_000 {
        let tenths = bytes.div_ceil(100_000);
        let point = lang.pick(",", ".");
        format!("{}{point}{} MB", tenths / 10, tenths % 10)
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
    pub(super) verlenging: Option<Said>,
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
        lang: Lang,
    ) -> Self {
        let english = lang == Lang::En;
        let zaak = &file.zaak;
        let closed = zaak.einddatum.is_some();
        let mine = zaak.behandelaar.as_deref() == Some(me.id.as_str());
        let (deadline, deadline_class) = match zaak.einddatum {
            Some(end) => (
                format!(
                    "{} {}",
                    lang.pick("Afgehandeld op", "Closed on"),
                    day(end, lang)
                ),
                "done",
            ),
            None => deadline_text(zaak, werk.today(), lang),
        };
        let can_decide =
            !closed && me.may(Action::Decide) && (mine || me.has(StaffRole::Coordinator));
        Self {
            uuid: zaak.uuid,
            identificatie: zaak.identificatie.clone(),
            product: product_name(werk, &zaak.zaaktype, lang),
            status: status_label(zaak.status.as_deref(), lang),
            aanvragers: file
                .roles
                .iter()
                .filter(|r| r.omschrijving_generiek == "initiator")
                .filter_map(|r| r.bsn.clone())
                .collect(),
            registratiedatum: day(zaak.registratiedatum, lang),
            due: day(zaak.einddatum_gepland, lang),
            deadline,
            deadline_class,
            behandelaar: zaak
                .behandelaar
                .clone()
                .unwrap_or_else(|| lang.pick("Niemand", "Nobody").to_owned()),
            decision: file.decision.as_ref().map(|d| DecisionView::new(d, lang)),
            statuses: file
                .statuses
                .iter()
                .map(|s| LogRow {
                    moment: moment(s.datum_status_gezet, lang),
                    wie: who(&s.actor, lang),
                    wat: status_label(Some(&s.statustype), lang).to_owned(),
                    toelichting: s.toelichting.clone(),
                })
                .collect(),
            notes: file
                .notes
                .iter()
                .map(|n| LogRow {
                    moment: moment(n.moment, lang),
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
                        .map_or_else(
                            || d.naam.clone(),
                            |a| a.omschrijving.get(english).to_owned(),
                        ),
                    bestandsnaam: d.bestandsnaam.clone(),
                    soort: match d.soort {
                        Soort::Pdf => "PDF",
                        Soort::Png => "PNG",
                        Soort::Jpeg => "JPG",
                    },
                    grootte: size(d.grootte, lang),
                    sha256: d.sha256.clone(),
                    moment: moment(d.toegevoegd, lang),
                })
                .collect(),
            audit: file
                .audit
                .iter()
                .map(|a| LogRow {
                    moment: moment(a.moment, lang),
                    wie: who(&a.actor, lang),
                    wat: audit_action(&a.actie, lang),
                    toelichting: a.toelichting.clone(),
                })
                .collect(),
            can_take: !closed && !mine && me.may(Action::Take),
            can_assign: !closed && me.may(Action::Assign),
            can_decide,
            opschorting: zaak.opschorting.as_ref().map(|o| o.reden.clone()),
            verlenging: zaak.verlenging.as_ref().map(|v| {
                Said::plain(format!("{} {}: ", v.dagen, lang.pick("dagen", "days")))
                    .then(Said::dutch(v.reden.clone(), lang))
            }),
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
    use time::UtcOffset;
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn loket_itself_is_named_in_the_pages_language() {
        let automatic = loket_zaken::decision::AUTOMATIC;
        assert_eq!(who(automatic, Lang::En), "Loket (automatic)");
        assert_eq!(who(automatic, Lang::Nl), automatic);
        assert_eq!(who("Medewerker m.jansen", Lang::En), "Medewerker m.jansen");
    }

    #[test]
    fn every_action_in_the_audit_trail_reads_in_english() {
        // The actions the workspace, the store and the Zaken API write.
        for actie in [
            "bekeken",
            "opgepakt",
            "toegewezen",
            "besloten",
            "document bekeken",
            "opgeschort",
            "hervat",
            "verlengd",
            "notitie",
            "aangemaakt",
            "rol toegevoegd",
            "status gezet",
            "resultaat",
        ] {
            assert_ne!(audit_action(actie, Lang::En), actie);
            assert_eq!(audit_action(actie, Lang::Nl), actie);
        }
    }

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

    proptest::proptest! {
        /// Any moment there is, with any offset, is shown: a client sets status times and
        /// other organisations' logs give record times, so the last minutes of year 9999
        /// must not take a page down.
        #[test]
        fn any_moment_is_shown_without_a_panic(
            seconds in OffsetDateTime::new_utc(Date::MIN, time::Time::MIDNIGHT).unix_timestamp()
                ..=datetime!(9999-12-31 23:59:59 UTC).unix_timestamp(),
            offset in -86_399i32..=86_399,
        ) {
            let utc = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            let offset = UtcOffset::from_whole_seconds(offset).unwrap();
            if let Some(moment) = utc.checked_to_offset(offset) {
                let shown = moment_nl(moment);
                proptest::prop_assert!(shown.contains(" om "), "{shown}");
            }
        }
    }

    #[test]
    fn the_last_minutes_there_are_are_shown_as_they_are() {
        assert_eq!(
            moment_nl(datetime!(9999-12-31 23:30 UTC)),
            "31 december 9999 om 23:30"
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
        assert_eq!(size(820_000, Lang::Nl), "820 kB");
        assert_eq!(size(1_400_000, Lang::Nl), "1,4 MB");
        assert_eq!(size(1_400_000, Lang::En), "1.4 MB");
        assert_eq!(size(1, Lang::Nl), "1 kB");
    }

    #[test]
    fn deadlines_are_in_words() {
        let today = date!(2026 - 11 - 23);
        let text = |due| deadline_text(&due_on(due), today, Lang::Nl).0;
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
            deadline_text(&suspended, today, Lang::Nl).0,
            "Opgeschort sinds 19 november 2026",
            "a suspended case is not late"
        );
        assert_eq!(
            deadline_text(&suspended, today, Lang::En).0,
            "Suspended since 19 November 2026"
        );
        let english = |due| deadline_text(&due_on(due), today, Lang::En).0;
        assert_eq!(english(date!(2026 - 11 - 20)), "Late: 3 days");
        assert_eq!(english(date!(2026 - 11 - 25)), "Due soon: 2 days left");
        assert_eq!(english(date!(2027 - 01 - 18)), "56 days left");
    }
}
