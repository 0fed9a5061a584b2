//! "Who used my data": the processing-log records about the signed-in resident, read
//! from each organisation's log through its LDV read API (never from its database), each
//! checked against the log's signed tree head: the leaf is computed here from the
//! record's exact stored text, so what the resident reads is what the log holds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use loket_core::merkle::{Hash, record_leaf, verify_inclusion};
use loket_core::resident_assertion::{self, AssertionSigner};
use loket_core::{Bsn, Secret, TraceContext};
use loket_http::OutgoingClient;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

/// One organisation's processing log, as the portal reads it.
#[derive(Debug, Clone)]
pub struct LogSource {
    /// The organisation, as residents know it ("Rijksdienst voor het Wegverkeer").
    pub organisatie: String,
    /// The log's read API, e.g. `http://127.0.0.1:9000` (the API is under `/lezenapi/v1`).
    pub url: String,
    /// The portal's token there; with it alone no resident can be asked about, each read
    /// also carries a resident assertion signed with the portal's key.
    pub token: Secret<String>,
    /// The log's Ed25519 public key, to check its signed tree heads.
    pub public_key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Inzage {
    client: Option<OutgoingClient>,
    sources: Vec<LogSource>,
    /// Signs, for each read, which resident is signed in and asks.
    signer: Option<Arc<AssertionSigner>>,
    /// The municipality's OIN and its own processing activities, by id: for a use by
    /// the municipality that another organisation's log records under one of them, which
    /// that log's register does not describe (a provider's log names the municipality's
    /// activity it answered for).
    known: (String, HashMap<String, KnownActivity>),
}

/// A processing activity as the resident is told about it: name, purpose and legal
/// basis, each in Dutch and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownActivity {
    pub naam: (String, String),
    pub doel: (String, String),
    pub grondslag: (String, String),
}

/// How much of a record's integrity could be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// The record's leaf is in the tree whose head the log signed.
    Verified,
    /// The proof did not check out, or the signature did not.
    Failed,
    /// The log could not be asked for its proof.
    Unknown,
}

/// One use of the resident's data.
#[derive(Debug, Clone)]
pub struct Use {
    pub organisatie: String,
    pub moment: OffsetDateTime,
    pub dienst: String,
    /// The fields asked for, when the request named them.
    pub velden: Vec<String>,
    /// The municipality asked (outgoing), or this organisation answered (incoming).
    pub uitgaand: bool,
    /// The OIN of the organisation that asked (empty when the record does not say).
    pub aanvrager: String,
    /// The activity the record names (the recording organisation's own), described
    /// when its register or the municipality's knows it.
    pub activiteit_id: Option<String>,
    pub naam: Option<(String, String)>,
    pub doel: Option<(String, String)>,
    pub grondslag: Option<(String, String)>,
    /// A provider's record that names its own activity, with what was stated beside
    /// it (`gevraagd_voor_id`); records from before named the one stated.
    pub eigen_activiteit: bool,
    /// At a provider's end: the activity the asking organisation stated, and its name
    /// when the municipality asked under one of its own.
    pub gevraagd_voor_id: Option<String>,
    pub gevraagd_voor: Option<(String, String)>,
    pub trace_id: String,
    pub integriteit: Integrity,
    /// An attempt on the resident's data that was refused, and why; `None` for a use.
    pub geweigerd: Option<Refusal>,
}

/// Why the exchange refused an attempt on the resident's data, as the resident is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No valid agreement between the organisations, or not with this certificate.
    NoPermission,
    /// Not for this purpose, or no purpose named.
    PurposeNotAllowed,
    /// Data the agreement does not allow for this purpose.
    DataNotAllowed,
    /// The request itself was not in order (too large, unreadable, too many people).
    NotInOrder,
    /// The answer was about too many people, so it was not passed on.
    AnswerTooBroad,
    /// The answer could not be read, so it was not passed on.
    AnswerUnreadable,
    /// It could not be written down first, so it was not carried out.
    NotRecorded,
    /// Any other reason, or none given.
    Other,
}

impl Refusal {
    /// The refusal an exchange record describes: a refusal (`… geweigerd`), or an
    /// answer that says the other organisation refused (its error code). `None` for a
    /// use, for a record that is not the exchange's, and for a request that found no
    /// service to answer it: no data could have been given, so it was no attempt on the
    /// resident's data. (A request without an agreement is one: it is shown.)
    fn of(record: &Record) -> Option<Self> {
        let code = record.attributes.exchange.as_ref()?.error_code.as_deref();
        let no_service = matches!(
            code,
            Some("ERROR_CODE_SERVICE_NOT_FOUND" | "ERROR_CODE_SERVICE_UNREACHABLE")
        );
        let refused = record.name.ends_with(" geweigerd")
            || (record.name.ends_with(" antwoord") && record.status == "Error" && code.is_some());
        if !refused || no_service {
            return None;
        }
        Some(Self::for_code(code.unwrap_or_default()))
    }

    /// The refusal an exchange error code (`Fsc-Error-Code`) stands for, as the resident
    /// is told; `Other` for a code it does not know.
    pub fn for_code(code: &str) -> Self {
        match code {
            "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED"
            | "ERROR_CODE_UNKNOWN_PEER"
            | "ERROR_CODE_GRANT_HASH_MISSING"
            | "ERROR_CODE_GRANT_NOT_FOUND"
            | "ERROR_CODE_GRANT_EXPIRED"
            | "ERROR_CODE_WRONG_PEER"
            | "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT" => Self::NoPermission,
            "ERROR_CODE_PROCESSING_ACTIVITY_MISSING"
            | "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED" => Self::PurposeNotAllowed,
            "ERROR_CODE_FIELD_NOT_GRANTED" | "ERROR_CODE_METHOD_NOT_GRANTED" => {
                Self::DataNotAllowed
            }
            "ERROR_CODE_BODY_UNREADABLE"
            | "ERROR_CODE_BODY_TOO_LARGE"
            | "ERROR_CODE_BODY_AMBIGUOUS"
            | "ERROR_CODE_TOO_MANY_SUBJECTS"
            | "ERROR_CODE_TOO_MANY_FIELDS" => Self::NotInOrder,
            "ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS" => Self::AnswerTooBroad,
            "ERROR_CODE_ANSWER_UNREADABLE" => Self::AnswerUnreadable,
            "ERROR_CODE_LOG_UNAVAILABLE" => Self::NotRecorded,
            _ => Self::Other,
        }
    }
}

/// What one log said, or that it could not be read.
#[derive(Debug, Clone)]
pub struct FromLog {
    pub organisatie: String,
    pub gebruik: Vec<Use>,
    pub bereikbaar: bool,
    /// Where this log's next page of the resident's records starts.
    pub verder: Start,
}

/// Where a page of one log's records about the resident starts. A page of "who used my
/// data" reads each log from its own start, so that none of a log's records is skipped
/// or shown twice however busy the other logs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Newest,
    /// Older than the log's record at this index (the read API's cursor).
    Before(u64),
    /// Every record was on an earlier page.
    Done,
}

impl Start {
    /// The starts in a page's `verder` parameter, one per log in the order of the
    /// sources (a cursor, `-` for a log that is done, nothing for its newest records);
    /// anything else starts over at the newest records.
    pub fn parse_all(text: Option<&str>, logs: usize) -> Vec<Start> {
        let parsed: Option<Vec<Start>> = text.and_then(|text| {
            text.split(',')
                .map(|part| match part {
                    "" => Some(Start::Newest),
                    "-" => Some(Start::Done),
                    cursor => cursor.parse().ok().map(Start::Before),
                })
                .collect()
        });
        match parsed {
            Some(starts) if starts.len() == logs => starts,
            _ => vec![Start::Newest; logs],
        }
    }

    /// The `verder` parameter of the next page, when any log has more.
    pub fn next_page(logs: &[FromLog]) -> Option<String> {
        if !logs
            .iter()
            .any(|log| matches!(log.verder, Start::Before(_)))
        {
            return None;
        }
        let parts: Vec<String> = logs
            .iter()
            .map(|log| match log.verder {
                Start::Before(cursor) => cursor.to_string(),
                // A log that could not be read starts over on the next page.
                Start::Newest => String::new(),
                Start::Done => "-".to_owned(),
            })
            .collect();
        Some(parts.join(","))
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(rename = "processingActivities")]
    records: Vec<Found>,
    #[serde(default)]
    pagination: Pagination,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    /// Empty on the last page.
    #[serde(default)]
    next_cursor: String,
}

/// A record as the read API gives it. Only what the leaf commits to is believed: the
/// record is read from `integrity.body`, the exact stored text, which the check hashes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Found {
    log_index: u64,
    integrity: Committed,
    verwerkingsactiviteit: Option<Activity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Committed {
    expires_at: i64,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    trace_id: String,
    name: String,
    start_time: i64,
    status: String,
    #[serde(default)]
    attributes: Attributes,
}

/// A found record with its body read and its leaf computed.
struct Read {
    record: Record,
    index: u64,
    leaf: Hash,
    activity: Option<Activity>,
}

#[derive(Debug, Default, Deserialize)]
struct Attributes {
    #[serde(rename = "dpl.core.processing_activity_id")]
    activity: Option<String>,
    #[serde(rename = "loket.exchange")]
    exchange: Option<Exchange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exchange {
    direction: String,
    service_name: String,
    /// The OIN of the organisation that asked.
    #[serde(default)]
    source_peer_id: String,
    /// Older records name no fields.
    #[serde(default)]
    fields: Vec<String>,
    /// At a provider's end, the activity the asking organisation stated (the record
    /// names the provider's own): `Some(None)` (`null`) when it stated none; `None`
    /// (left out) at the asking end and in a provider's records from before.
    #[serde(default, deserialize_with = "loket_core::present::present")]
    stated_processing_activity_id: Option<Option<String>>,
    /// Why the request was refused, on a refusal's record.
    #[serde(default)]
    error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Activity {
    naam: Texts,
    doel: Texts,
    grondslag: Texts,
}

#[derive(Debug, Deserialize)]
struct Texts {
    nl: String,
    en: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TreeHead {
    tree_size: u64,
    root_hash: String,
    timestamp: i64,
    signature: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProof {
    audit_path: Vec<String>,
}

/// Records asked of a log at a time; a page of the portal reads on until it has at least
/// [`USES_PER_PAGE`] uses from the log, or has asked [`READS_PER_PAGE`] times (a request
/// and its answer are two records, refusals one).
const RECORDS_PER_READ: u32 = 50;
const USES_PER_PAGE: usize = 25;
const READS_PER_PAGE: usize = 4;

impl Inzage {
    pub fn new(
        sources: Vec<LogSource>,
        signer: Arc<AssertionSigner>,
    ) -> Result<Self, loket_http::ClientBuildError> {
        Ok(Self {
            client: Some(OutgoingClient::new(Duration::from_secs(10))?),
            sources,
            signer: Some(signer),
            known: (String::new(), HashMap::new()),
        })
    }

    /// Describe uses by the organisation with OIN `municipality` under these activities
    /// (its own register) where the log that recorded them does not. Only its own: any
    /// organisation can name any activity when it asks, and the resident must not read
    /// the municipality's purpose into another's attempt.
    pub fn knowing(mut self, municipality: &str, known: HashMap<String, KnownActivity>) -> Self {
        self.known = (municipality.to_owned(), known);
        self
    }

    /// A portal without logs to read (`loket serve` without the exchange).
    pub fn none() -> Self {
        Self {
            client: None,
            sources: Vec::new(),
            signer: None,
            known: (String::new(), HashMap::new()),
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.sources.is_empty()
    }

    /// The logs this portal reads, for [`Start::parse_all`].
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// A page of every log's records about `bsn`, each log from its own start (one per
    /// source; a missing one is the newest), newest first per log, each with its check.
    pub async fn about(&self, bsn: &Bsn, trace: &TraceContext, starts: &[Start]) -> Vec<FromLog> {
        let (Some(client), Some(signer)) = (&self.client, &self.signer) else {
            return Vec::new();
        };
        let reads = self.sources.iter().enumerate().map(|(i, source)| {
            let start = starts.get(i).copied().unwrap_or(Start::Newest);
            // One assertion for the page's reads of this log: it is valid for a minute.
            let assertion = signer.sign(bsn, &source.public_key, OffsetDateTime::now_utc());
            read_log(client, source, AskingFor { bsn, assertion }, trace, start)
        });
        let mut logs = futures::future::join_all(reads).await;
        let (municipality, activities) = &self.known;
        for used in logs.iter_mut().flat_map(|log| log.gebruik.iter_mut()) {
            let by_municipality = !municipality.is_empty() && used.aanvrager == *municipality;
            let known = |id: &Option<String>| {
                id.as_deref()
                    .and_then(|id| activities.get(id))
                    .filter(|_| by_municipality)
            };
            used.gevraagd_voor = known(&used.gevraagd_voor_id).map(|a| a.naam.clone());
            // Records of a provider from before it logged under its own activities.
            if let (None, Some(known)) = (&used.naam, known(&used.activiteit_id)) {
                used.naam = Some(known.naam.clone());
                used.doel = Some(known.doel.clone());
                used.grondslag = Some(known.grondslag.clone());
            }
        }
        logs
    }
}

/// The resident a read asks about, and the portal's signed statement that they are
/// signed in and asking.
struct AskingFor<'a> {
    bsn: &'a Bsn,
    assertion: String,
}

/// One page of the read API's records about the resident, from `cursor` (newest: none), and the
/// cursor after it (none on the last page); `None` when the log cannot be read.
async fn read_records(
    client: &OutgoingClient,
    base: &str,
    source: &LogSource,
    asking: &AskingFor<'_>,
    trace: &TraceContext,
    cursor: Option<u64>,
) -> Option<(Vec<Read>, Option<u64>)> {
    let mut url = format!("{base}/lezenapi/v1/processing-activities?limit={RECORDS_PER_READ}");
    if let Some(cursor) = cursor {
        url.push_str(&format!("&cursor={cursor}"));
    }
    let (request, _) = client.post(&url, trace);
    let response = request
        .bearer_auth(source.token.expose())
        .header(resident_assertion::HEADER, &asking.assertion)
        .json(&json!({
            "dpl.core.data_subject_id": asking.bsn.as_str(),
            "dpl.core.data_subject_id_type": "BSN",
        }))
        .send()
        .await
        .ok()
        .filter(|response| response.status().is_success())?;
    let answer: Answer = loket_http::json_answer(response).await.ok()?;
    // A log that answers more than was asked for is not one to trust with the rest.
    if answer.records.len() > RECORDS_PER_READ as usize {
        tracing::warn!(log = %source.organisatie, "a log answered more records than asked for");
        return None;
    }
    let next = answer.pagination.next_cursor.parse().ok();
    // A request and its answer are two records of one span; the answer says it happened.
    // A refused attempt is shown too: the resident sees who tried, and why it was refused.
    let records = answer
        .records
        .into_iter()
        .filter_map(|found| {
            let record: Record = serde_json::from_str(&found.integrity.body).ok()?;
            Some(Read {
                leaf: record_leaf(
                    found.log_index,
                    found.integrity.expires_at,
                    found.integrity.body.as_bytes(),
                ),
                index: found.log_index,
                activity: found.verwerkingsactiviteit,
                record,
            })
        })
        .filter(|r| {
            (r.record.name.ends_with(" antwoord") && r.record.status == "Ok")
                || Refusal::of(&r.record).is_some()
        })
        .collect();
    Some((records, next))
}

async fn read_log(
    client: &OutgoingClient,
    source: &LogSource,
    asking: AskingFor<'_>,
    trace: &TraceContext,
    start: Start,
) -> FromLog {
    let base = source.url.trim_end_matches('/');
    let mut cursor = match start {
        Start::Newest => None,
        Start::Before(cursor) => Some(cursor),
        Start::Done => {
            return FromLog {
                organisatie: source.organisatie.clone(),
                gebruik: Vec::new(),
                bereikbaar: true,
                verder: Start::Done,
            };
        }
    };
    let mut records: Vec<Read> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut verder = Start::Done;
    for _ in 0..READS_PER_PAGE {
        let Some((read, next)) = read_records(client, base, source, &asking, trace, cursor).await
        else {
            return FromLog {
                organisatie: source.organisatie.clone(),
                gebruik: Vec::new(),
                bereikbaar: false,
                verder: start,
            };
        };
        // A record is shown once, however often a log gives it; and a log pages back to
        // older records, so a cursor that does not move back ends the reading.
        records.extend(read.into_iter().filter(|r| seen.insert(r.index)));
        let next = next.filter(|next| cursor.is_none_or(|cursor| *next < cursor));
        cursor = next;
        verder = next.map_or(Start::Done, Start::Before);
        if next.is_none() || records.len() >= USES_PER_PAGE {
            break;
        }
    }
    let head = tree_head(client, base, source, trace).await;
    let checks = records.iter().map(|read| async {
        match &head {
            Some(Ok((size, root))) => included(client, base, read, *size, root, trace).await,
            Some(Err(())) => Integrity::Failed,
            None => Integrity::Unknown,
        }
    });
    let integrity = futures::future::join_all(checks).await;
    let gebruik = records
        .into_iter()
        .zip(integrity)
        .map(
            |(
                Read {
                    record, activity, ..
                },
                integriteit,
            )| {
                let geweigerd = Refusal::of(&record);
                let exchange = record.attributes.exchange;
                Use {
                    organisatie: source.organisatie.clone(),
                    moment: OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(record.start_time) * 1_000_000,
                    )
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    dienst: exchange
                        .as_ref()
                        .map(|e| e.service_name.clone())
                        .unwrap_or_default(),
                    velden: exchange
                        .as_ref()
                        .map(|e| e.fields.clone())
                        .unwrap_or_default(),
                    uitgaand: exchange
                        .as_ref()
                        .is_some_and(|e| e.direction == "DIRECTION_OUTGOING"),
                    aanvrager: exchange
                        .as_ref()
                        .map(|e| e.source_peer_id.clone())
                        .unwrap_or_default(),
                    activiteit_id: record.attributes.activity,
                    naam: activity
                        .as_ref()
                        .map(|a| (a.naam.nl.clone(), a.naam.en.clone())),
                    doel: activity
                        .as_ref()
                        .map(|a| (a.doel.nl.clone(), a.doel.en.clone())),
                    grondslag: activity
                        .as_ref()
                        .map(|a| (a.grondslag.nl.clone(), a.grondslag.en.clone())),
                    eigen_activiteit: exchange
                        .as_ref()
                        .is_some_and(|e| e.stated_processing_activity_id.is_some()),
                    gevraagd_voor_id: exchange
                        .as_ref()
                        .and_then(|e| e.stated_processing_activity_id.clone().flatten()),
                    gevraagd_voor: None,
                    trace_id: record.trace_id,
                    integriteit,
                    geweigerd,
                }
            },
        )
        .collect();
    FromLog {
        organisatie: source.organisatie.clone(),
        gebruik,
        bereikbaar: true,
        verder,
    }
}

/// The log's newest signed tree head: `None` when it cannot be read, `Err` when its
/// signature does not check out under the log's key.
async fn tree_head(
    client: &OutgoingClient,
    base: &str,
    source: &LogSource,
    trace: &TraceContext,
) -> Option<Result<(u64, Hash), ()>> {
    let (request, _) = client.get(&format!("{base}/lezenapi/v1/tree-heads/latest"), trace);
    // With the portal's token the log signs a head over the records just read.
    let request = request.bearer_auth(source.token.expose());
    let head: TreeHead = loket_http::json_answer(request.send().await.ok()?)
        .await
        .ok()?;
    let root = decode_hash(&head.root_hash)?;
    let signature = STANDARD.decode(&head.signature).ok()?;
    let mut message = b"loket-logboek tree head v1\n".to_vec();
    message.extend_from_slice(&head.tree_size.to_be_bytes());
    message.extend_from_slice(&head.timestamp.to_be_bytes());
    message.extend_from_slice(&root);
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &source.public_key);
    Some(match key.verify(&message, &signature) {
        Ok(()) => Ok((head.tree_size, root)),
        Err(_) => Err(()),
    })
}

/// Is the leaf we computed from the record's exact body in the signed tree? The proof's
/// own leaf hash is not taken on trust: the audit path must lead from ours to the root.
async fn included(
    client: &OutgoingClient,
    base: &str,
    read: &Read,
    size: u64,
    root: &Hash,
    trace: &TraceContext,
) -> Integrity {
    let index = read.index;
    let url = format!("{base}/lezenapi/v1/proofs/inclusion?index={index}&treeSize={size}");
    let (request, _) = client.get(&url, trace);
    let Some(proof) = (match request.send().await {
        Ok(response) if response.status().is_success() => {
            loket_http::json_answer::<InclusionProof>(response)
                .await
                .ok()
        }
        _ => None,
    }) else {
        return Integrity::Unknown;
    };
    let path: Option<Vec<Hash>> = proof.audit_path.iter().map(|h| decode_hash(h)).collect();
    match path {
        Some(path) if verify_inclusion(&read.leaf, index, size, &path, root) => Integrity::Verified,
        _ => Integrity::Failed,
    }
}

fn decode_hash(text: &str) -> Option<Hash> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A record the log writes (`loket_logboek::Exchange`) reads back telling a
    /// provider's record that stated nothing from one at the asking end.
    #[test]
    fn a_stated_activity_left_out_differs_from_none_stated() {
        let written = |stated: Option<Option<&str>>| {
            let exchange = loket_logboek::Exchange {
                transaction_id: "t".to_owned(),
                direction: loket_logboek::Direction::Incoming,
                grant_hash: None,
                source_peer_id: String::new(),
                destination_peer_id: String::new(),
                service_name: "brp-personen".to_owned(),
                stated_processing_activity_id: stated.map(|s| s.map(str::to_owned)),
                fields: Vec::new(),
                error_code: None,
            };
            let text = serde_json::to_string(&exchange).unwrap();
            let read: Exchange = serde_json::from_str(&text).unwrap();
            read.stated_processing_activity_id
        };
        assert_eq!(written(None), None);
        assert_eq!(written(Some(None)), Some(None));
        assert_eq!(written(Some(Some("x"))), Some(Some("x".to_owned())));
    }

    fn start() -> impl proptest::strategy::Strategy<Value = Start> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Start::Newest),
            Just(Start::Done),
            any::<u64>().prop_map(Start::Before),
        ]
    }

    proptest::proptest! {
        /// Any `?verder=` gives one start per log; the parameter of a next page, read
        /// back, gives every log the start that page named.
        #[test]
        fn verder_gives_one_start_per_log_and_next_pages_read_back(
            text in proptest::option::of(".{0,60}"),
            logs in 0usize..6,
            starts in proptest::collection::vec(start(), 1..6),
        ) {
            proptest::prop_assert_eq!(Start::parse_all(text.as_deref(), logs).len(), logs);
            let from = |verder: Start| FromLog {
                organisatie: String::new(),
                gebruik: Vec::new(),
                bereikbaar: true,
                verder,
            };
            let pages: Vec<FromLog> = starts.iter().copied().map(from).collect();
            match Start::next_page(&pages) {
                Some(verder) => {
                    proptest::prop_assert_eq!(Start::parse_all(Some(&verder), starts.len()), starts);
                }
                None => proptest::prop_assert!(!starts.iter().any(|s| matches!(s, Start::Before(_)))),
            }
        }
    }

    /// A record as a log stores it, with `name`, `status` and (on an exchange record)
    /// an error code.
    fn record(name: &str, status: &str, code: Option<&str>) -> Record {
        let mut exchange =
            json!({"direction": "DIRECTION_OUTGOING", "serviceName": "brp-personen"});
        if let Some(code) = code {
            exchange["errorCode"] = json!(code);
        }
        serde_json::from_value(json!({
            "traceId": "0af7651916cd43dd8448eb211c80319c",
            "name": name,
            "startTime": 0,
            "status": status,
            "attributes": {"loket.exchange": exchange},
        }))
        .unwrap()
    }

    #[test]
    fn a_refusal_is_told_by_its_reason_and_a_use_or_an_unanswered_request_is_none() {
        let cases = [
            ("brp-personen antwoord", "Ok", None, None),
            ("brp-personen verzoek", "Unset", None, None),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_FIELD_NOT_GRANTED"),
                Some(Refusal::DataNotAllowed),
            ),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_GRANT_EXPIRED"),
                Some(Refusal::NoPermission),
            ),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED"),
                Some(Refusal::PurposeNotAllowed),
            ),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_TOO_MANY_SUBJECTS"),
                Some(Refusal::NotInOrder),
            ),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_LOG_UNAVAILABLE"),
                Some(Refusal::NotRecorded),
            ),
            // The answer was withheld (by either end): the record of the answer says so.
            (
                "brp-personen antwoord",
                "Error",
                Some("ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS"),
                Some(Refusal::AnswerTooBroad),
            ),
            (
                "brp-personen antwoord",
                "Error",
                Some("ERROR_CODE_ANSWER_UNREADABLE"),
                Some(Refusal::AnswerUnreadable),
            ),
            (
                "brp-personen geweigerd",
                "Error",
                None,
                Some(Refusal::Other),
            ),
            // The other organisation refused: the outway's answer says why.
            (
                "brp-personen antwoord",
                "Error",
                Some("ERROR_CODE_GRANT_NOT_FOUND"),
                Some(Refusal::NoPermission),
            ),
            // Nobody answered, or no such service: no refusal, and nothing was used.
            (
                "brp-personen antwoord",
                "Error",
                Some("ERROR_CODE_SERVICE_UNREACHABLE"),
                None,
            ),
            (
                "brp-personen geweigerd",
                "Error",
                Some("ERROR_CODE_SERVICE_NOT_FOUND"),
                None,
            ),
            ("brp-personen antwoord", "Error", None, None),
        ];
        for (name, status, code, expected) in cases {
            assert_eq!(
                Refusal::of(&record(name, status, code)),
                expected,
                "{name} {status} {code:?}"
            );
        }
        // A record that is not the exchange's is no refused attempt, whatever its name.
        let mut decision = record("aanvraag geweigerd", "Error", None);
        decision.attributes.exchange = None;
        assert_eq!(Refusal::of(&decision), None);
    }
}
