//! What outway and inway share: the action being logged, the fields check, and moving a
//! request body and an answer through.

use std::borrow::Cow;
use std::collections::BTreeSet;

use axum::http::HeaderMap;
use loket_core::{Clock, TraceContext};
use loket_http::JSON_BODY_LIMIT;
use loket_logboek::{Direction, Exchange, Logboek, NewRecord, Status};
use time::OffsetDateTime;

use crate::denial::Denial;
use crate::manager::{Connection, Policy};
use crate::metrics::ExchangeMetrics;
use crate::request_body::{Named, RequestBody};
use crate::subjects::Unread;

pub const GRANT_HASH: &str = "fsc-grant-hash";
pub const TRANSACTION_ID: &str = "fsc-transaction-id";
pub const PROCESSING_ACTIVITY: &str = "fsc-processing-activity";
/// The most BSNs one request may name. Each is logged at both ends, so without a limit a
/// body of 1 MiB could have each log write some 80,000 records for one request.
pub const MAX_SUBJECTS: usize = 100;
/// The most residents a request and its answer may name together. Each is logged at
/// both ends, so without a limit an answer of 16 MiB could have each log write some
/// 500,000 records. A larger answer is withheld (502,
/// `ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS`) and logged once for each resident the request
/// named (once about nobody if it named none). A register's change feed page (at most
/// 1000 mutations, each naming one resident) fits.
pub const MAX_ANSWER_SUBJECTS: usize = 1000;
/// The most fields one request may ask for, and the longest name (bytes) one may have,
/// as the Haal Centraal APIs allow. Every record of a request names its fields, so
/// without a limit one body of 1 MiB could have each log write some 100 MB.
pub const MAX_FIELDS: usize = 130;
pub const MAX_FIELD_NAME: usize = 200;
/// The longest header value the gateway reads (a processing activity, a grant hash): a
/// longer one counts as not given, and is not written into any record. Nor is a service
/// name asked of the outway that is longer.
pub const MAX_HEADER_VALUE: usize = 512;

/// Whom a successful answer is about: the residents the request named and those `scan`
/// found in it. Or why it is withheld: together they are more than
/// [`MAX_ANSWER_SUBJECTS`], or the answer cannot be read though it must be (`must_read`:
/// it says it is JSON, or the inway has to take the subject field out of it).
pub(crate) fn answer_about(
    named: &BTreeSet<String>,
    scan: Result<BTreeSet<String>, Unread>,
    must_read: bool,
) -> Result<BTreeSet<String>, Denial> {
    let found = match scan {
        Ok(found) => found,
        Err(Unread::TooMany) => return Err(Denial::AnswerTooManySubjects),
        Err(Unread::NotJson) if must_read => return Err(Denial::AnswerUnreadable),
        // Anything else (a document) names no one the exchange can tell.
        Err(Unread::NotJson) => BTreeSet::new(),
    };
    let mut about = named.clone();
    about.extend(found);
    if about.len() > MAX_ANSWER_SUBJECTS {
        return Err(Denial::AnswerTooManySubjects);
    }
    Ok(about)
}

/// Does this answer say it is JSON (`application/json` or a `+json` type)?
pub(crate) fn says_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_json)
}

/// Is this media type JSON (`application/json` or a `+json` type), in any case, as a
/// register reading it would take it?
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let bytes = essence.as_bytes();
    essence.eq_ignore_ascii_case("application/json")
        || (bytes.len() > 5 && bytes[bytes.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// A header's value when it is given once, as text of at most [`MAX_HEADER_VALUE`]
/// bytes. Given twice it counts as not given: the check, the log and the next hop must
/// not each read a different one.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_HEADER_VALUE)
}

/// Text a caller chose (a service name from the path, a header, a field name), as a
/// record keeps it: a number in it shaped like a BSN is masked
/// ([`loket_core::bsn::without_bsns`]), unless `known` says the text is the policy's or
/// the register's own (a grant hash or activity id that holds such a number is kept
/// exact). `known` is asked only then.
pub(crate) fn as_recorded(text: &str, known: impl FnOnce() -> bool) -> String {
    match loket_core::bsn::without_bsns(text) {
        Cow::Borrowed(same) => same.to_owned(),
        Cow::Owned(_) if known() => text.to_owned(),
        Cow::Owned(masked) => masked,
    }
}

/// As [`as_recorded`], when whether the text is known is already known: then it is not
/// looked through at all.
pub(crate) fn as_recorded_when(text: &str, known: bool) -> String {
    if known {
        text.to_owned()
    } else {
        as_recorded(text, || false)
    }
}

/// Whether `activity` is one a grant of `policy` or the register of `log` names.
pub(crate) fn known_activity(policy: &Policy, log: &Logboek, activity: &str) -> bool {
    log.activities().get(activity).is_some()
        || policy
            .connections
            .values()
            .any(|c| c.processing_activities.iter().any(|a| a == activity))
}

/// One request through one end of the exchange, as the log will describe it.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub trace: TraceContext,
    pub start: OffsetDateTime,
    pub direction: Direction,
    pub transaction_id: String,
    pub grant_hash: Option<String>,
    pub source_peer: String,
    pub destination_peer: String,
    /// This and the next are what the records say, taken [`as_recorded`] from the
    /// caller's text; checks use what the caller sent.
    pub service: String,
    /// The processing activity the records name: the caller's at the outway, the
    /// provider's own at the inway.
    pub activity: Option<String>,
    /// At the inway, the activity the caller stated, if any ([`as_recorded`] until the
    /// grant is checked); `None` at the outway, whose records name it as `activity`.
    pub stated_activity: Option<Option<String>>,
    /// The `fields` the request body asks for, as the log will name them.
    pub fields: Vec<String>,
    /// Where refusals are counted, once the gateway reports to a process's metrics.
    pub metrics: Option<ExchangeMetrics>,
}

impl Action {
    /// Count a refusal or withheld answer of this gateway's own.
    fn count(&self, denial: Denial) {
        let at = match self.direction {
            Direction::Outgoing => "outway",
            Direction::Incoming => "inway",
        };
        self.count_at(at, denial);
    }

    /// Count a refusal where it happened (`provider`: another organisation's inway).
    pub(crate) fn count_at(&self, at: &'static str, denial: Denial) {
        if let Some(metrics) = &self.metrics {
            metrics.count(at, denial);
        }
    }

    fn record(
        &self,
        log: &Logboek,
        end: OffsetDateTime,
        name: &str,
        status: Status,
        subject: Option<&str>,
        denial: Option<Denial>,
    ) -> NewRecord {
        NewRecord {
            trace_id: self.trace.trace_id,
            span_id: self.trace.span_id,
            parent_span_id: self.trace.parent_span_id,
            name: format!("{} {name}", self.service),
            start: self.start,
            end,
            status,
            processing_activity_id: self.activity.clone(),
            data_subject: subject.map(|bsn| log.pseudonyms().bsn(bsn)),
            exchange: Some(Exchange {
                transaction_id: self.transaction_id.clone(),
                direction: self.direction,
                grant_hash: self.grant_hash.clone(),
                source_peer_id: self.source_peer.clone(),
                destination_peer_id: self.destination_peer.clone(),
                service_name: self.service.clone(),
                stated_processing_activity_id: self.stated_activity.clone(),
                fields: self.fields.clone(),
                error_code: denial.map(|d| d.code().to_owned()),
            }),
        }
    }

    /// Log a refusal, one record for each subject the request names (so that the
    /// resident and the privacy officer find attempts on a person's data that were
    /// refused too); if even that fails, the answer is that the log is unavailable.
    pub(crate) async fn refuse(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        denial: Denial,
        named: &BTreeSet<String>,
    ) -> Denial {
        let records = self.records(
            log,
            clock.now(),
            "geweigerd",
            Status::Error,
            named,
            Some(denial),
        );
        let answer = match log.append(records).await {
            Ok(_) => denial,
            Err(error) => {
                tracing::error!(%error, "cannot log a refused request");
                Denial::LogUnavailable
            }
        };
        self.count(answer);
        answer
    }

    /// The request body ([`read_body`]), or the refusal (logged) to answer with.
    pub(crate) async fn body(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        headers: &HeaderMap,
        body: axum::body::Body,
    ) -> Result<axum::body::Bytes, Denial> {
        match read_body(headers, body).await {
            Ok(bytes) => Ok(bytes),
            Err(denial) => Err(self.refuse(log, clock, denial, &BTreeSet::new()).await),
        }
    }

    /// Note the fields `body` asks for, for the log; the BSNs it names, or the refusal
    /// (logged) of a body that names more than [`MAX_SUBJECTS`] (about nobody), or more
    /// fields than [`MAX_FIELDS`] or a longer name than [`MAX_FIELD_NAME`] (about whom it
    /// names, without its fields).
    pub(crate) async fn note_request(
        &mut self,
        log: &Logboek,
        clock: &dyn Clock,
        body: &RequestBody<'_>,
    ) -> Result<BTreeSet<String>, Denial> {
        let named = body.named().map(Named::bsns).unwrap_or_default();
        if named.len() > MAX_SUBJECTS {
            let denial = Denial::TooManySubjects;
            return Err(self.refuse(log, clock, denial, &BTreeSet::new()).await);
        }
        if body
            .named()
            .is_some_and(|request| request.fields_beyond(MAX_FIELDS, MAX_FIELD_NAME))
        {
            return Err(self.refuse(log, clock, Denial::TooManyFields, &named).await);
        }
        let fields = body.named().map(Named::field_names).unwrap_or_default();
        self.fields = fields
            .into_iter()
            .map(|field| match loket_core::bsn::without_bsns(&field) {
                Cow::Borrowed(_) => field,
                Cow::Owned(masked) => masked,
            })
            .collect();
        Ok(named)
    }

    /// One record per subject, or one about nobody when there are none.
    fn records(
        &self,
        log: &Logboek,
        end: OffsetDateTime,
        name: &str,
        status: Status,
        subjects: &BTreeSet<String>,
        denial: Option<Denial>,
    ) -> Vec<NewRecord> {
        if subjects.is_empty() {
            return vec![self.record(log, end, name, status, None, denial)];
        }
        subjects
            .iter()
            .map(|bsn| self.record(log, end, name, status, Some(bsn), denial))
            .collect()
    }

    /// Log, durably, that the request is about to be forwarded, naming the subjects the
    /// request itself names.
    pub(crate) async fn before_forwarding(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        named: &BTreeSet<String>,
    ) -> Result<(), Denial> {
        let records = self.records(log, clock.now(), "verzoek", Status::Unset, named, None);
        log.append(records).await.map(|_| ()).map_err(|error| {
            tracing::error!(%error, "cannot log before forwarding; refusing");
            self.count(Denial::LogUnavailable);
            Denial::LogUnavailable
        })
    }

    /// Log the answer: one record per data subject, with the reason when the request was
    /// refused further on or could not be forwarded. When the answer is about no one the
    /// durable request record did not already name, it goes back while its records
    /// commit (unhurried: with the next request's records, so they do not hold that
    /// one up): the log already says whose data this is. An answer that reveals others
    /// (a search) waits until its records are durable, and is withheld if they cannot be.
    pub(crate) async fn answered(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        ok: bool,
        refused: Option<Denial>,
        about: &BTreeSet<String>,
        named: &BTreeSet<String>,
    ) -> Result<(), Denial> {
        let status = if ok { Status::Ok } else { Status::Error };
        let records = self.records(log, clock.now(), "antwoord", status, about, refused);
        if about.is_subset(named) {
            log.append_in_background(records);
            return Ok(());
        }
        log.append(records).await.map(|_| ()).map_err(|error| {
            tracing::error!(%error, "cannot log an answer; withholding it");
            self.count(Denial::LogUnavailable);
            Denial::LogUnavailable
        })
    }

    /// Log that the request could not be forwarded, and answer so. The record names no
    /// one: no data of anyone's was given.
    pub(crate) async fn unreachable(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        named: &BTreeSet<String>,
    ) -> axum::response::Response {
        let reason = Denial::ServiceUnreachable;
        self.no_answer(log, clock, reason, &BTreeSet::new(), named)
            .await
    }

    /// Log that the answer is withheld for `reason`, once for each resident the request
    /// named (so they find it; the answer's own subjects are not read further, as it is
    /// not passed on), and answer so.
    pub(crate) async fn withhold(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        reason: Denial,
        named: &BTreeSet<String>,
    ) -> axum::response::Response {
        self.no_answer(log, clock, reason, named, named).await
    }

    async fn no_answer(
        &self,
        log: &Logboek,
        clock: &dyn Clock,
        reason: Denial,
        about: &BTreeSet<String>,
        named: &BTreeSet<String>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        // The reason stands even if the log fails (the answer is not given either way).
        let _ = self
            .answered(log, clock, false, Some(reason), about, named)
            .await;
        self.count(reason);
        reason.into_response()
    }
}

/// Does `connection` allow every field the request asks for? A grant limited to certain
/// fields allows only queries whose fields can be checked: a `POST` with a JSON body
/// with a `fields` list of strings. (Any other request, such as a register's change
/// feed, would read outside them.) A body that names its `fields` or BSNs twice is
/// refused whatever the grant.
pub(crate) fn fields_allowed(
    connection: &Connection,
    method: &axum::http::Method,
    body: &RequestBody<'_>,
) -> Result<(), Denial> {
    if *body == RequestBody::Ambiguous {
        return Err(Denial::BodyAmbiguous);
    }
    if connection.fields.is_none() {
        return Ok(());
    }
    if method != axum::http::Method::POST {
        return Err(Denial::MethodNotGranted);
    }
    let Some(fields) = body.named().and_then(Named::strict_fields) else {
        return Err(Denial::BodyUnreadable);
    };
    for field in fields {
        if !connection.allows_field(field) {
            return Err(Denial::FieldNotGranted);
        }
    }
    Ok(())
}

/// An outway's or inway's router: every path goes to `handler`. The edge's own routes
/// (/healthz; /readyz and /metrics where they are served) win over the wildcard (axum
/// prefers static segments).
pub(crate) fn pass_through<H, T, S>(name: &str, handler: H, state: S) -> loket_http::HttpService
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let routes = axum::Router::new()
        .route("/{*path}", axum::routing::any(handler))
        .with_state(state);
    // The gateway holds bodies to the limit itself (`read_body`), so that a refusal for
    // size is logged like every other refusal instead of ending at the HTTP edge.
    // The answers are the provider's: an error it gives in plain text passes unchanged.
    loket_http::HttpService::new(name, routes)
        .large_bodies("/", usize::MAX)
        .passes_answers_through()
}

/// A request body of at most [`JSON_BODY_LIMIT`] bytes, with one content type: one
/// announced as larger is refused before a byte is read, one that turns out larger when
/// it is read too.
async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, Denial> {
    // Two content types, or one the gateway cannot read (it is forwarded as it came):
    // the gateway might read the body as one thing and the register as another (and the
    // log would then miss whose data it was).
    let content_types = headers.get_all(axum::http::header::CONTENT_TYPE);
    if content_types.iter().next().is_some() && header(headers, "content-type").is_none() {
        return Err(Denial::BodyAmbiguous);
    }
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > JSON_BODY_LIMIT as u64) {
        return Err(Denial::BodyTooLarge);
    }
    let limited = http_body_util::Limited::new(body, JSON_BODY_LIMIT);
    match http_body_util::BodyExt::collect(limited).await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Denial::BodyTooLarge),
        Err(_) => Err(Denial::BodyUnreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_callers_text_is_kept_without_a_bsn_unless_it_is_known() {
        let asked = std::cell::Cell::new(0);
        let asked = &asked;
        let known = |answer: bool| {
            move || {
                asked.set(asked.get() + 1);
                answer
            }
        };
        assert_eq!(as_recorded("brp-personen", known(false)), "brp-personen");
        assert_eq!(
            asked.get(),
            0,
            "known is asked only about a BSN-shaped number"
        );
        assert_eq!(
            as_recorded("urn:x:999990007", known(false)),
            "urn:x:*********"
        );
        assert_eq!(
            as_recorded("urn:x:999990007", known(true)),
            "urn:x:999990007"
        );
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn an_answer_is_about_the_named_and_the_found_up_to_the_limit() {
        let set = |from: usize, to: usize| (from..to).map(|n| n.to_string()).collect();
        let named: BTreeSet<String> = set(0, 2);
        assert_eq!(answer_about(&named, Ok(set(1, 3)), true), Ok(set(0, 3)));
        let full = answer_about(&named, Ok(set(2, MAX_ANSWER_SUBJECTS)), true);
        assert_eq!(full.map(|about| about.len()), Ok(MAX_ANSWER_SUBJECTS));
        assert_eq!(
            answer_about(&named, Ok(set(1, MAX_ANSWER_SUBJECTS + 1)), true),
            Err(Denial::AnswerTooManySubjects)
        );
        assert_eq!(
            answer_about(&named, Err(Unread::TooMany), false),
            Err(Denial::AnswerTooManySubjects)
        );
        assert_eq!(
            answer_about(&named, Err(Unread::NotJson), true),
            Err(Denial::AnswerUnreadable)
        );
        assert_eq!(answer_about(&named, Err(Unread::NotJson), false), Ok(named));
    }

    #[test]
    fn an_answer_says_it_is_json_by_its_media_type() {
        let says = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_str(value).unwrap(),
            );
            says_json(&headers)
        };
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
            " application/hal+json ;x=y",
        ] {
            assert!(says(json), "{json}");
        }
        for other in [
            "text/plain",
            "application/jsonx",
            "+json",
            "application/pdf",
            "",
        ] {
            assert!(!says(other), "{other}");
        }
        assert!(!says_json(&HeaderMap::new()));
    }

    proptest! {
        /// A media type is JSON whatever its case and parameters, and only the type and
        /// subtype decide: `application/json` or a subtype ending in `+json`.
        #[test]
        fn a_media_type_is_json_by_its_essence_alone(
            kind in "[a-zA-Z]{1,12}",
            subtype in "[a-zA-Z.+-]{0,12}",
            json_subtype in proptest::bool::ANY,
            parameters in "(; ?[a-z]{1,8}=[a-zA-Z0-9\"/;+-]{0,12}){0,3}",
        ) {
            let subtype = if json_subtype { format!("{subtype}+json") } else { subtype };
            let essence = format!("{kind}/{subtype}");
            let expected = essence.eq_ignore_ascii_case("application/json")
                || subtype.to_ascii_lowercase().ends_with("+json");
            prop_assert_eq!(is_json(&essence), expected);
            prop_assert_eq!(is_json(&essence.to_ascii_uppercase()), expected);
            prop_assert_eq!(is_json(&format!(" {essence}{parameters}")), expected);
            let application = format!("Application/{}", if json_subtype { "JSON" } else { "json" });
            let with_parameters = format!("{application}{parameters}");
            prop_assert!(is_json(&with_parameters));
        }

        /// An FSC header counts only when it is given once, as non-blank text, and then
        /// as exactly that text, trimmed; any other shape counts as not given.
        #[test]
        fn a_header_counts_only_when_given_once(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..3),
        ) {
            let mut headers = HeaderMap::new();
            let mut given = Vec::new();
            for bytes in &values {
                if let Ok(value) = axum::http::HeaderValue::from_bytes(bytes) {
                    headers.append(PROCESSING_ACTIVITY, value.clone());
                    given.push(value);
                }
            }
            let read = header(&headers, PROCESSING_ACTIVITY);
            match given.as_slice() {
                [one] => {
                    let expected = one.to_str().ok().map(str::trim).filter(|v| !v.is_empty());
                    prop_assert_eq!(read, expected);
                }
                _ => prop_assert_eq!(read, None),
            }
        }
    }
}
