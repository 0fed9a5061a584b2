//! Turning the process layer's answers into what the resident reads: dates in words,
//! amounts in euros, register answers as labelled rows with their source.

use loket_zaken::berichten::Bericht;
use loket_zaken::decision::DataUsed;
use loket_zaken::inwoner::{Attendering, date};
use loket_zaken::zaak::{Outcome, Zaak, statustype};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::Lang;
use crate::i18n::Said;

/// What every page's layout needs.
pub(crate) struct Layout {
    pub lang: Lang,
    pub municipality: String,
    pub demo: bool,
    /// The current path, for the language switch link.
    pub path: String,
    /// The signed-in resident's name, when signed in.
    pub naam: Option<String>,
    pub signed_in: bool,
    pub csrf: String,
    pub unread: u64,
    /// Which item of the menu this page is.
    pub nav: &'static str,
    /// Where the page's form posts its answers to show them again: the form then has
    /// a button of its own to the other language, with the answers (the link in the
    /// header would lose them; a button there would be the form's default button and
    /// take the Enter key).
    pub resubmit: Option<String>,
}

impl Layout {
    /// The text in the page's language: both are always given, so none is missing.
    pub(crate) fn t<'a>(&self, nl: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(nl, en)
    }

    pub(crate) fn other_code(&self) -> &'static str {
        match self.lang {
            Lang::Nl => "en",
            Lang::En => "nl",
        }
    }

    /// This page in the other language, its own query kept.
    pub(crate) fn switch_href(&self) -> String {
        crate::i18n::switch_href(&self.path, self.other_code())
    }

    /// Where the language switch posts the form it takes along, in the other language.
    pub(crate) fn resubmit_action(&self) -> String {
        self.resubmit
            .as_ref()
            .map(|action| crate::i18n::switch_href(action, self.other_code()))
            .unwrap_or_default()
    }

    pub(crate) fn current(&self, item: &str) -> &'static str {
        if self.nav == item { "page" } else { "false" }
    }
}

/// A form field's error, for the summary and the field.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

pub(crate) fn error_for<'e>(errors: &'e [FieldError], field: &str) -> Option<&'e str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// "1 december 2026" or "1 December 2026".
pub(crate) fn day(date: Date, lang: Lang) -> String {
    match lang {
        Lang::Nl => loket_core::datum::lang_formaat(date),
        Lang::En => format!("{} {} {}", date.day(), date.month(), date.year()),
    }
}

/// "1 december 2026, 14:05" in Dutch time.
pub(crate) fn moment(moment: OffsetDateTime, lang: Lang) -> String {
    let local = loket_core::dutch_time(moment);
    format!(
        "{}, {:02}:{:02}",
        day(local.date(), lang),
        local.hour(),
        local.minute()
    )
}

/// "€ 37,50" / "€37.50"; a refund "€ -0,50" / "-€0.50".
pub(crate) fn euros(cents: i64, lang: Lang) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, part) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    // Thousands grouped as each language writes them: 1.234,56 and 1,234.56.
    let grouped = |separator: char| {
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(separator);
            }
            out.push(digit);
        }
        out
    };
    match lang {
        Lang::Nl => format!("€ {sign}{},{part:02}", grouped('.')),
        Lang::En => format!("{sign}€{}.{part:02}", grouped(',')),
    }
}

/// A register's amount as the API writes it ("1234.56": a point, at most two decimals)
/// as [`euros`] writes money for the page's language; as given, after the euro sign, when
/// it is not such an amount, and nothing when there is none.
pub(crate) fn amount(text: &str, lang: Lang) -> String {
    match cents(text) {
        Some(cents) => euros(cents, lang),
        None if text.is_empty() => String::new(),
        None => format!("€ {text}"),
    }
}

fn cents(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 15
        || fraction.len() > 2
        || !all_digits(whole)
        || !all_digits(fraction)
    {
        return None;
    }
    let fraction = format!("{fraction:0<2}").parse::<i64>().ok()?;
    let total = whole.parse::<i64>().ok()? * 100 + fraction;
    Some(if negative { -total } else { total })
}

/// A case as a line in a list.
pub(crate) struct CaseLine {
    pub uuid: String,
    pub titel: String,
    pub identificatie: String,
    pub status: String,
    pub datum: String,
}

pub(crate) fn status_text(zaak: &Zaak, lang: Lang) -> String {
    let (nl, en) = match (zaak.status.as_deref(), zaak.uitkomst) {
        (Some(statustype::AFGEHANDELD), Some(Outcome::Toegekend)) => ("Toegekend", "Granted"),
        (Some(statustype::AFGEHANDELD), Some(Outcome::Afgewezen)) => ("Afgewezen", "Refused"),
        (Some(statustype::AFGEHANDELD), _) => ("Afgehandeld", "Closed"),
        (_, _) if zaak.opschorting.is_some() => (
            "Wacht op u: de termijn staat stil",
            "Waiting for you: the term is on hold",
        ),
        (Some(statustype::IN_BEHANDELING), _) => ("In behandeling", "Being handled"),
        (_, Some(Outcome::Behandelaar)) => (
            "Een medewerker bekijkt uw aanvraag",
            "An employee is looking at your application",
        ),
        _ => ("Ontvangen", "Received"),
    };
    lang.pick(nl, en).to_owned()
}

pub(crate) fn status_step(statustype_: &str, lang: Lang) -> &'static str {
    let (nl, en) = match statustype_ {
        statustype::ONTVANGEN => ("Aanvraag ontvangen", "Application received"),
        statustype::IN_BEHANDELING => ("In behandeling", "Being handled"),
        statustype::AFGEHANDELD => ("Besluit genomen", "Decision taken"),
        _ => ("Bijgewerkt", "Updated"),
    };
    lang.pick(nl, en)
}

pub(crate) fn case_line(zaak: &Zaak, product_name: &str, lang: Lang) -> CaseLine {
    CaseLine {
        uuid: zaak.uuid.to_string(),
        titel: product_name.to_owned(),
        identificatie: zaak.identificatie.clone(),
        status: status_text(zaak, lang),
        datum: day(zaak.registratiedatum, lang),
    }
}

/// A letter as a line in the Berichtenbox.
pub(crate) struct MessageLine {
    pub uuid: String,
    pub onderwerp: String,
    pub datum: String,
    pub ongelezen: bool,
}

pub(crate) fn message_line(bericht: &Bericht, lang: Lang) -> MessageLine {
    MessageLine {
        uuid: bericht.uuid.to_string(),
        onderwerp: bericht.onderwerp.get(lang == Lang::En).to_owned(),
        datum: moment(bericht.verzonden, lang),
        ongelezen: bericht.gelezen.is_none(),
    }
}

pub(crate) fn coming_up_text(item: &Attendering, today: Date, lang: Lang) -> Said {
    match item {
        Attendering::DocumentVerloopt {
            code,
            soort,
            nummer,
            datum,
        } => {
            let expired = *datum < today;
            let when = day(*datum, lang);
            Said::plain(match lang {
                Lang::Nl if expired => {
                    format!(
                        "Uw {} ({nummer}) is verlopen op {when}.",
                        soort.to_lowercase()
                    )
                }
                Lang::Nl => format!(
                    "Uw {} ({nummer}) verloopt op {when}. Vraag op tijd een nieuwe aan.",
                    soort.to_lowercase()
                ),
                Lang::En if expired => {
                    format!(
                        "Your {} ({nummer}) expired on {when}.",
                        english_document(code)
                    )
                }
                Lang::En => format!(
                    "Your {} ({nummer}) expires on {when}. Apply for a new one in time.",
                    english_document(code)
                ),
            })
        }
        // DUO names a programme in Dutch only.
        Attendering::StudieEindigt { opleiding, datum } => {
            let (before, after) = match lang {
                Lang::Nl => ("Uw opleiding ", " eindigt naar verwachting op"),
                Lang::En => ("Your programme ", " is expected to end on"),
            };
            Said::plain(before)
                .then(Said::dutch(opleiding.clone(), lang))
                .and(format!("{after} {}.", day(*datum, lang)), false)
        }
    }
}

/// A travel document's kind in English by its BRP table 48 code, or what every kind is.
fn english_document(code: &str) -> &'static str {
    REISDOCUMENT
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("travel document", |(_, en)| en)
}

/// Which data a request asked for, in the resident's words: the fields it named ("naam,
/// adres"), else what the service gives. The organisation beside it says where from, so
/// a service's technical name shows only when it is not one we can put in words.
pub(crate) fn data_asked(service: &str, fields: &[String], lang: Lang) -> String {
    let mut words: Vec<&str> = Vec::new();
    for field in fields {
        // `naam.voornamen` and `naam.geslachtsnaam` are both "naam" to the resident.
        let top = field.split('.').next().unwrap_or_default();
        let Some(word) = field_words(top, lang) else {
            return service_data(service, lang);
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.is_empty() {
        return service_data(service, lang);
    }
    words.join(", ")
}

/// A register field (its first part) in words; `None` for one not known here. The
/// registers' field names do not overlap, so one table serves them all.
fn field_words(field: &str, lang: Lang) -> Option<&'static str> {
    let (nl, en) = match field {
        "burgerservicenummer" => ("burgerservicenummer", "citizen service number"),
        "naam" => ("naam", "name"),
        "geboorte" => ("geboortedatum en -plaats", "date and place of birth"),
        "leeftijd" => ("leeftijd", "age"),
        "geslacht" => ("geslacht", "sex"),
        "verblijfplaats" | "adressering" => ("adres", "address"),
        "gemeenteVanInschrijving" => (
            "gemeente waar u staat ingeschreven",
            "municipality of registration",
        ),
        "nationaliteiten" => ("nationaliteit", "nationality"),
        "partners" => ("partner", "partner"),
        "ouders" => ("ouders", "parents"),
        "kinderen" => ("kinderen", "children"),
        "overlijden" => ("overlijden", "death"),
        "kenteken" => ("kenteken", "registration number"),
        "merk" => ("merk", "make"),
        "handelsbenaming" => ("type", "model"),
        "brandstof" => ("brandstof", "fuel"),
        "inkomensklasse" => ("inkomensklasse", "income class"),
        _ => return None,
    };
    Some(lang.pick(nl, en))
}

/// What an exchange service gives, in the resident's words (its name when unknown).
fn service_data(service: &str, lang: Lang) -> String {
    let (nl, en) = match service {
        "brp-personen" => (
            "naam, adres en andere persoonsgegevens",
            "name, address and other personal data",
        ),
        "reisdocumenten" => ("paspoort en identiteitskaart", "passport and identity card"),
        "rdw-voertuigen" => ("auto's en andere voertuigen", "cars and other vehicles"),
        "duo-inschrijvingen" => ("opleidingen", "education"),
        "inkomen" => ("inkomen en uitkering", "income and benefits"),
        _ => return format!("{} ({service})", lang.pick("gegevens", "data")),
    };
    lang.pick(nl, en).to_owned()
}

/// A register answer as Mijn gegevens shows it.
pub(crate) struct Section {
    pub id: &'static str,
    pub titel: String,
    pub bron: String,
    /// Each item (a person, a document, a car, …) as label–value rows.
    pub items: Vec<Rows>,
    pub leeg: String,
    pub fout: bool,
    pub correctie: String,
}

pub(crate) fn sections(data: &[DataUsed], lang: Lang) -> Vec<Section> {
    data.iter().map(|used| section(used, lang)).collect()
}

fn section(used: &DataUsed, lang: Lang) -> Section {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    let empty = Value::Null;
    let answer = used.waarden.as_ref().unwrap_or(&empty);
    let (id, titel, bron, leeg, correctie, items) = match used.naam.as_str() {
        "brp" => (
            "persoon",
            l("Persoon en adres", "Person and address"),
            l(
                "Bron: Basisregistratie Personen (BRP), van de Rijksdienst voor Identiteitsgegevens",
                "Source: Personal Records Database (BRP), of the National Office for Identity Data",
            ),
            l("De BRP kent u niet.", "The BRP does not know you."),
            l(
                "Uw naam, adres en geboortegegevens staan in de BRP. Gaat u verhuizen? Geef dat door aan de gemeente waar u gaat wonen, vanaf 4 weken voor de verhuizing tot 5 dagen erna. Klopt er iets anders niet? Maak dan een afspraak aan de balie van uw gemeente.",
                "Your name, address and birth details are in the BRP. Are you moving? Tell the municipality you are moving to, from 4 weeks before the move until 5 days after it. Is something else wrong? Then make an appointment at your municipality's counter.",
            ),
            persons(answer, lang),
        ),
        "reisdocumenten" => (
            "reisdocumenten",
            l("Paspoort en identiteitskaart", "Passport and identity card"),
            l(
                "Bron: Basisregister Reisdocumenten, van de Rijksdienst voor Identiteitsgegevens",
                "Source: Travel Documents Register, of the National Office for Identity Data",
            ),
            l(
                "U hebt geen paspoort of identiteitskaart.",
                "You have no passport or identity card.",
            ),
            l(
                "Kom met het document langs bij de balie. Kwijt of gestolen? Meld het bij de gemeente.",
                "Bring the document to the counter. Lost or stolen? Report it to the municipality.",
            ),
            documents(answer, lang),
        ),
        "rdw" => (
            "voertuigen",
            l("Auto's en andere voertuigen", "Cars and other vehicles"),
            l(
                "Bron: Kentekenregister (RDW)",
                "Source: Vehicle Register (RDW)",
            ),
            l(
                "Er staat geen voertuig op uw naam.",
                "No vehicle is registered in your name.",
            ),
            l(
                "Neem contact op met de RDW: die houdt het kentekenregister bij.",
                "Contact the RDW: it keeps the vehicle register.",
            ),
            vehicles(answer, lang),
        ),
        "duo" => (
            "onderwijs",
            l("Opleidingen", "Education"),
            l(
                "Bron: Register onderwijsdeelnemers (DUO)",
                "Source: Register of Education Participants (DUO)",
            ),
            l(
                "U staat niet ingeschreven bij een opleiding.",
                "You are not enrolled in a programme.",
            ),
            l(
                "Vraag uw school om het door te geven aan DUO.",
                "Ask your school to report it to DUO.",
            ),
            enrolments(answer, lang),
        ),
        _ => (
            "inkomen",
            l("Uitkering en inkomen", "Benefits and income"),
            l(
                "Bron: Inkomensadministratie (gemeente, Inlichtingenbureau)",
                "Source: Income administration (municipality, Inlichtingenbureau)",
            ),
            l(
                "Er is geen uitkering of inkomensgegeven van u bekend.",
                "No benefit or income details of yours are known.",
            ),
            l(
                "Neem contact op met Werk en Inkomen van de gemeente.",
                "Contact the municipality's Work and Income department.",
            ),
            income(answer, lang),
        ),
    };
    Section {
        id,
        titel,
        bron,
        items,
        leeg,
        fout: used.fout.is_some(),
        correctie,
    }
}

/// A coded value of a national table (`{"code", "omschrijving"}` at `pointer`) in the
/// page's language: in Dutch as the register describes it; on an English page, the
/// English for a code in `english`, else the register's Dutch (it may hold codes we do
/// not know).
fn described(value: &Value, pointer: &str, english: &[(&str, &str)], lang: Lang) -> Said {
    let Some(coded) = value.pointer(pointer) else {
        return Said::default();
    };
    let code = s(coded, "/code");
    match english.iter().find(|(known, _)| *known == code) {
        Some((_, en)) if lang == Lang::En => Said::plain(*en),
        _ => Said::dutch(s(coded, "/omschrijving"), lang),
    }
}

/// BRP's values for geslacht.
const GESLACHT: &[(&str, &str)] = &[("M", "male"), ("V", "female"), ("O", "unknown")];
/// BRP table 32 (nationaliteiten): the one nearly every resident has.
const NATIONALITEIT: &[(&str, &str)] = &[("0001", "Dutch")];
/// BRP table 48 (reisdocumenten).
const REISDOCUMENT: &[(&str, &str)] = &[("PN", "Dutch passport"), ("NI", "Dutch identity card")];
/// Why a travel document no longer counts.
const INHOUDING: &[(&str, &str)] = &[
    ("I", "withheld or handed in"),
    ("R", "no longer valid by law"),
    ("V", "reported missing"),
];
const BRANDSTOF: &[(&str, &str)] = &[
    ("B", "Petrol"),
    ("D", "Diesel"),
    ("E", "Electric"),
    ("L", "LPG"),
    ("H", "Hydrogen"),
];
const NIVEAU: &[(&str, &str)] = &[
    ("VO", "secondary education"),
    ("MBO", "secondary vocational education (MBO)"),
    ("HBO", "higher professional education (HBO)"),
    ("WO", "university education (WO)"),
];
const INKOMENSKLASSE: &[(&str, &str)] = &[
    ("T110", "up to 110% of the social minimum"),
    ("T130", "110% to 130% of the social minimum"),
    ("T150", "130% to 150% of the social minimum"),
    ("B150", "150% of the social minimum or more"),
];
const UITKERING: &[(&str, &str)] = &[
    ("PW", "social assistance benefit (Participatiewet)"),
    ("IOAW", "IOAW benefit (older unemployed employees)"),
    ("IOAZ", "IOAZ benefit (older formerly self-employed people)"),
    ("BBZ", "Bbz benefit (self-employed people)"),
];

fn s(value: &Value, pointer: &str) -> String {
    match value.pointer(pointer) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn d(value: &Value, key: &str, lang: Lang) -> String {
    date(value, key)
        .map(|date| day(date, lang))
        .unwrap_or_default()
}

fn items<'a>(answer: &'a Value, key: &str) -> Vec<&'a Value> {
    answer
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// An item's label–value rows, without the empty ones.
pub(crate) type Rows = Vec<(String, Said)>;

fn rows(pairs: Rows) -> Rows {
    pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

fn persons(answer: &Value, lang: Lang) -> Vec<Rows> {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    items(answer, "personen")
        .into_iter()
        .map(|p| {
            let adres = p
                .pointer("/verblijfplaats/verblijfadres")
                .unwrap_or(&Value::Null);
            let straat = [
                s(adres, "/officieleStraatnaam"),
                format!("{}{}", s(adres, "/huisnummer"), s(adres, "/huisletter")),
                s(adres, "/huisnummertoevoeging"),
            ]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
            let woonplaats = format!("{} {}", s(adres, "/postcode"), s(adres, "/woonplaats"));
            let nationaliteiten = Said::joined(
                items(p, "nationaliteiten")
                    .into_iter()
                    .map(|n| described(n, "/nationaliteit", NATIONALITEIT, lang)),
                ", ",
            );
            let names = |key: &str| {
                items(p, key)
                    .into_iter()
                    .map(|r| {
                        [
                            s(r, "/naam/voornamen"),
                            s(r, "/naam/voorvoegsel"),
                            s(r, "/naam/geslachtsnaam"),
                        ]
                        .into_iter()
                        .filter(|x| !x.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into()
            };
            rows(vec![
                (l("Naam", "Name"), s(p, "/naam/volledigeNaam").into()),
                (
                    l("Geboortedatum", "Date of birth"),
                    p.pointer("/geboorte")
                        .map(|g| d(g, "datum", lang))
                        .unwrap_or_default()
                        .into(),
                ),
                (
                    l("Geboorteplaats", "Place of birth"),
                    s(p, "/geboorte/plaats/omschrijving").into(),
                ),
                (
                    l("Geslacht", "Sex"),
                    described(p, "/geslacht", GESLACHT, lang),
                ),
                (l("Adres", "Address"), straat.into()),
                (
                    l("Postcode en woonplaats", "Postcode and town"),
                    woonplaats.trim().to_owned().into(),
                ),
                (
                    l("Gemeente", "Municipality"),
                    s(p, "/gemeenteVanInschrijving/omschrijving").into(),
                ),
                (
                    l("Op dit adres sinds", "At this address since"),
                    p.pointer("/verblijfplaats")
                        .map(|v| d(v, "datumVan", lang))
                        .unwrap_or_default()
                        .into(),
                ),
                (l("Nationaliteit", "Nationality"), nationaliteiten),
                (l("Partner", "Partner"), names("partners")),
                (l("Kinderen", "Children"), names("kinderen")),
            ])
        })
        .collect()
}

fn documents(answer: &Value, lang: Lang) -> Vec<Rows> {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    items(answer, "reisdocumenten")
        .into_iter()
        .map(|doc| {
            let status = match doc.get("inhoudingOfVermissing") {
                Some(inhouding) => {
                    let why = described(doc, "/inhoudingOfVermissing/aanduiding", INHOUDING, lang);
                    match d(inhouding, "datum", lang) {
                        since if since.is_empty() => why,
                        since => why.and(format!(" ({since})"), false),
                    }
                }
                None => l("Geldig", "Valid").into(),
            };
            rows(vec![
                (
                    l("Soort", "Kind"),
                    described(doc, "/soort", REISDOCUMENT, lang),
                ),
                (
                    l("Documentnummer", "Document number"),
                    s(doc, "/reisdocumentnummer").into(),
                ),
                (
                    l("Uitgegeven op", "Issued on"),
                    d(doc, "datumUitgifte", lang).into(),
                ),
                (
                    l("Geldig tot", "Valid until"),
                    d(doc, "datumEindeGeldigheid", lang).into(),
                ),
                (l("Status", "Status"), status),
            ])
        })
        .collect()
}

fn vehicles(answer: &Value, lang: Lang) -> Vec<Rows> {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    items(answer, "voertuigen")
        .into_iter()
        .map(|v| {
            rows(vec![
                (
                    l("Kenteken", "Registration number"),
                    s(v, "/kenteken").into(),
                ),
                (
                    l("Merk en type", "Make and model"),
                    format!("{} {}", s(v, "/merk"), s(v, "/handelsbenaming"))
                        .trim()
                        .to_owned()
                        .into(),
                ),
                (
                    l("Brandstof", "Fuel"),
                    described(v, "/brandstof", BRANDSTOF, lang),
                ),
                (
                    l("Op uw naam sinds", "In your name since"),
                    v.pointer("/tenaamstelling")
                        .map(|t| d(t, "datum", lang))
                        .unwrap_or_default()
                        .into(),
                ),
            ])
        })
        .collect()
}

fn enrolments(answer: &Value, lang: Lang) -> Vec<Rows> {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    items(answer, "inschrijvingen")
        .into_iter()
        .map(|e| {
            rows(vec![
                // DUO names a programme in Dutch only.
                (
                    l("Opleiding", "Programme"),
                    Said::dutch(s(e, "/opleiding/naam"), lang),
                ),
                (l("School", "School"), s(e, "/instelling/naam").into()),
                (l("Niveau", "Level"), described(e, "/niveau", NIVEAU, lang)),
                (
                    l("Begonnen op", "Started on"),
                    d(e, "datumAanvang", lang).into(),
                ),
                (
                    l("Verwacht einde", "Expected end"),
                    d(e, "datumEindeVerwacht", lang).into(),
                ),
                (l("Gestopt op", "Ended on"), d(e, "datumEinde", lang).into()),
            ])
        })
        .collect()
}

fn income(answer: &Value, lang: Lang) -> Vec<Rows> {
    let l = |nl: &str, en: &str| lang.pick(nl, en).to_owned();
    let mut out = Vec::new();
    for situation in items(answer, "inkomenssituaties") {
        out.push(rows(vec![(
            l("Inkomensklasse", "Income class"),
            described(situation, "/inkomensklasse", INKOMENSKLASSE, lang),
        )]));
        for benefit in items(situation, "uitkeringen") {
            let next = items(benefit, "betalingen")
                .into_iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        d(p, "datum", lang),
                        amount(&s(p, "/bedrag/waarde"), lang)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            out.push(rows(vec![
                (
                    l("Uitkering", "Benefit"),
                    described(benefit, "/soort", UITKERING, lang),
                ),
                (
                    l("Bedrag per maand", "Amount per month"),
                    amount(&s(benefit, "/bedragPerMaand/waarde"), lang).into(),
                ),
                (l("Sinds", "Since"), d(benefit, "datumAanvang", lang).into()),
                (l("Tot", "Until"), d(benefit, "datumEinde", lang).into()),
                (l("Volgende betalingen", "Next payments"), next.into()),
            ]));
        }
    }
    out.retain(|rows| !rows.is_empty());
    out
}

/// The resident's vehicles from an RDW answer: (kenteken, "Merk Type").
pub(crate) fn vehicle_choices(data: &[DataUsed]) -> Vec<(String, String)> {
    data.iter()
        .filter(|u| u.naam == "rdw")
        .filter_map(|u| u.waarden.as_ref())
        .flat_map(|answer| items(answer, "voertuigen"))
        .map(|v| {
            (
                s(v, "/kenteken"),
                format!("{} {}", s(v, "/merk"), s(v, "/handelsbenaming"))
                    .trim()
                    .to_owned(),
            )
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// "Dit weten we al van u": name and address from the BRP answer.
pub(crate) fn known_rows(data: &[DataUsed], lang: Lang) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for used in data {
        let Some(answer) = &used.waarden else {
            continue;
        };
        if used.naam == "brp" {
            for person in persons(answer, lang) {
                for (label, value) in person {
                    if matches!(
                        label.as_str(),
                        "Naam"
                            | "Name"
                            | "Adres"
                            | "Address"
                            | "Postcode en woonplaats"
                            | "Postcode and town"
                    ) {
                        // Names and addresses: nothing in them is marked Dutch.
                        out.push((label, value.text(), "BRP".to_owned()));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_kind_reads_in_english_by_its_code_not_its_dutch_words() {
        let today = time::macros::date!(2026 - 12 - 01);
        let on = |code: &str, soort: &str, datum| Attendering::DocumentVerloopt {
            code: code.to_owned(),
            soort: soort.to_owned(),
            nummer: "X1".to_owned(),
            datum,
        };
        let document =
            |code: &str, soort: &str| on(code, soort, time::macros::date!(2027 - 01 - 15));
        let en = |item| coming_up_text(&item, today, Lang::En).text();
        assert!(
            en(document("PN", "Nationaal paspoort"))
                .starts_with("Your Dutch passport (X1) expires on")
        );
        assert!(
            en(document("NI", "Nederlandse identiteitskaart"))
                .starts_with("Your Dutch identity card (X1)")
        );
        // A kind we have no English for is named by what it is, never guessed from Dutch.
        assert!(
            en(document("PD", "Diplomatiek paspoort")).starts_with("Your travel document (X1)")
        );
        assert_eq!(
            coming_up_text(&document("PD", "Diplomatiek paspoort"), today, Lang::Nl).text(),
            "Uw diplomatiek paspoort (X1) verloopt op 15 januari 2027. Vraag op tijd een nieuwe aan."
        );
        let expired = on(
            "NI",
            "Nederlandse identiteitskaart",
            time::macros::date!(2026 - 11 - 30),
        );
        assert!(en(expired).contains("expired on"));
        let study = Attendering::StudieEindigt {
            opleiding: "Verpleegkunde".to_owned(),
            datum: time::macros::date!(2027 - 01 - 15),
        };
        let said = coming_up_text(&study, today, Lang::En);
        assert_eq!(
            said.text(),
            "Your programme Verpleegkunde is expected to end on 15 January 2027."
        );
        assert_eq!(said.dutch_parts(), ["Verpleegkunde"]);
        let nl = coming_up_text(&study, today, Lang::Nl);
        assert_eq!(
            nl.text(),
            "Uw opleiding Verpleegkunde eindigt naar verwachting op 15 januari 2027."
        );
        assert!(nl.dutch_parts().is_empty());
    }

    #[test]
    fn amounts_read_as_euros() {
        assert_eq!(euros(7500, Lang::Nl), "€ 75,00");
        assert_eq!(euros(3750, Lang::En), "€37.50");
        assert_eq!(euros(0, Lang::Nl), "€ 0,00");
        // Below a euro the sign is not in the whole euros: it must be written itself.
        assert_eq!(euros(-50, Lang::Nl), "€ -0,50");
        assert_eq!(euros(-50, Lang::En), "-€0.50");
        assert_eq!(euros(-1250, Lang::Nl), "€ -12,50");
        assert_eq!(euros(i64::MIN, Lang::Nl), "€ -92.233.720.368.547.758,08");
    }

    #[test]
    fn moments_are_in_dutch_time() {
        let m = time::macros::datetime!(2026-12-01 23:30 UTC);
        assert_eq!(moment(m, Lang::Nl), "2 december 2026, 00:30");
        assert_eq!(moment(m, Lang::En), "2 December 2026, 00:30");
    }

    #[test]
    fn a_registers_amount_is_written_as_money_in_the_pages_language() {
        assert_eq!(amount("1234.56", Lang::Nl), "€ 1.234,56");
        assert_eq!(amount("1234567.8", Lang::En), "€1,234,567.80");
        assert_eq!(amount("999.99", Lang::Nl), "€ 999,99");
        assert_eq!(amount("1234.5", Lang::Nl), "€ 1.234,50");
        assert_eq!(amount("75", Lang::En), "€75.00");
        assert_eq!(amount("-3.10", Lang::Nl), "€ -3,10");
        assert_eq!(amount("", Lang::Nl), "");
        assert_eq!(
            amount("12.345", Lang::Nl),
            "€ 12.345",
            "not an amount: as given"
        );
        assert_eq!(amount("1e3", Lang::Nl), "€ 1e3");
    }

    proptest::proptest! {
        /// Every amount in cents, written as the API writes it, reads back as itself;
        /// any other text never panics and is shown as given.
        #[test]
        fn an_amount_reads_back_as_its_cents(cents_ in -10_000_000_000i64..10_000_000_000, text in "[-0-9.,e ]{0,12}") {
            let sign = if cents_ < 0 { "-" } else { "" };
            let written = format!("{sign}{}.{:02}", cents_.unsigned_abs() / 100, cents_.unsigned_abs() % 100);
            proptest::prop_assert_eq!(cents(&written), Some(cents_));
            proptest::prop_assert_eq!(amount(&written, Lang::Nl), euros(cents_, Lang::Nl));
            if cents(&text).is_none() && !text.is_empty() {
                proptest::prop_assert_eq!(amount(&text, Lang::En), format!("€ {text}"));
            }
        }
    }

    /// Register values from national tables read in the page's language: Dutch as the
    /// register describes them, English by their code; a code we do not know stays as
    /// the register describes it.
    #[test]
    fn coded_register_values_read_in_the_pages_language() {
        let used = |naam: &str, waarden: Value| DataUsed {
            naam: naam.to_owned(),
            bron: String::new(),
            dienst: String::new(),
            verwerkingsactiviteit: None,
            trace_id: String::new(),
            span_id: String::new(),
            waarden: Some(waarden),
            fout: None,
        };
        let coded = |code: &str, omschrijving: &str| serde_json::json!({"code": code, "omschrijving": omschrijving});
        let data = [
            used(
                "brp",
                serde_json::json!({"personen": [{
                    "geslacht": coded("V", "vrouw"),
                    "nationaliteiten": [
                        {"nationaliteit": coded("0001", "Nederlandse")},
                        {"nationaliteit": coded("0052", "Belgische")},
                    ],
                }]}),
            ),
            used(
                "reisdocumenten",
                serde_json::json!({"reisdocumenten": [{
                    "soort": coded("PN", "Nationaal paspoort"),
                    "inhoudingOfVermissing": {"aanduiding": coded("V", "vermist")},
                }]}),
            ),
            used(
                "rdw",
                serde_json::json!({"voertuigen": [{"brandstof": coded("E", "Elektriciteit")}]}),
            ),
            used(
                "duo",
                serde_json::json!({"inschrijvingen": [{"niveau": coded("MBO", "middelbaar beroepsonderwijs")}]}),
            ),
            used(
                "inkomen",
                serde_json::json!({"inkomenssituaties": [{
                    "inkomensklasse": coded("T110", "tot 110% van het sociaal minimum"),
                    "uitkeringen": [{"soort": coded("PW", "bijstandsuitkering (Participatiewet)")}],
                }]}),
            ),
        ];
        let said = |lang: Lang| -> Vec<Said> {
            sections(&data, lang)
                .into_iter()
                .flat_map(|section| section.items)
                .flatten()
                .map(|(_, value)| value)
                .collect()
        };
        let values = |lang| -> Vec<String> { said(lang).iter().map(Said::text).collect() };
        let marked_dutch = |lang| -> Vec<String> {
            said(lang)
                .iter()
                .flat_map(|value| value.dutch_parts())
                .map(str::to_owned)
                .collect()
        };
        // Only a code with no English stays Dutch, and says so (WCAG 3.1.2).
        assert_eq!(marked_dutch(Lang::En), ["Belgische"]);
        assert!(marked_dutch(Lang::Nl).is_empty());
        let dutch = values(Lang::Nl);
        let english = values(Lang::En);
        for expected in [
            "vrouw",
            "Nederlandse, Belgische",
            "Nationaal paspoort",
            "vermist",
            "Elektriciteit",
            "middelbaar beroepsonderwijs",
            "tot 110% van het sociaal minimum",
            "bijstandsuitkering (Participatiewet)",
        ] {
            assert!(
                dutch.iter().any(|v| v == expected),
                "{expected} in {dutch:?}"
            );
        }
        for expected in [
            "female",
            "Dutch, Belgische",
            "Dutch passport",
            "reported missing",
            "Electric",
            "secondary vocational education (MBO)",
            "up to 110% of the social minimum",
            "social assistance benefit (Participatiewet)",
        ] {
            assert!(
                english.iter().any(|v| v == expected),
                "{expected} in {english:?}"
            );
        }
    }

    #[test]
    fn the_fields_asked_for_read_as_words_once_each() {
        let fields: Vec<String> = ["naam.voornamen", "naam.geslachtsnaam", "verblijfplaats"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(data_asked("brp-personen", &fields, Lang::Nl), "naam, adres");
        assert_eq!(
            data_asked("brp-personen", &fields, Lang::En),
            "name, address"
        );
    }

    #[test]
    fn without_known_fields_the_service_says_what_it_gives() {
        assert_eq!(
            data_asked("rdw-voertuigen", &[], Lang::Nl),
            "auto's en andere voertuigen"
        );
        assert_eq!(
            data_asked("nieuw-register", &[], Lang::Nl),
            "gegevens (nieuw-register)"
        );
        // One unknown field and the list would be incomplete: say what the service gives.
        let fields = vec!["naam".to_owned(), "iets.nieuws".to_owned()];
        assert_eq!(
            data_asked("brp-personen", &fields, Lang::Nl),
            "naam, adres en andere persoonsgegevens"
        );
    }
}
