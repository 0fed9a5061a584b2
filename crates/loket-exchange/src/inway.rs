//! The inway: a provider's front door. It accepts only mutual-TLS connections from
//! certificates under the trust anchor, checks every request against the grants, logs
//! before anything reaches the register, and logs whose data the register returned.
//! Its records name the provider's own processing activity for the service (LDV: every
//! record names an activity of its own organisation's register), with the activity the
//! caller stated beside it; so the provider's retention and descriptions apply.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use loket_core::Clock;
use loket_http::{HttpService, RequestTrace};
use loket_logboek::{Direction, Logboek};

use crate::answer_subjects;
use crate::denial::Denial;
use crate::forward::{self, ForwardError, Forwarder};
use crate::gateway::{
    self, Action, GRANT_HASH, MAX_ANSWER_SUBJECTS, PROCESSING_ACTIVITY, TRANSACTION_ID, header,
};
use crate::manager::{Connection, Manager, Policy};
use crate::metrics::ExchangeMetrics;
use crate::request_body::RequestBody;
use crate::subjects;
use crate::tls::{self, Peer};

/// One organisation's inway and the services behind it.
#[derive(Debug, Clone)]
pub struct Inway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    oin: String,
    manager: Manager,
    log: Logboek,
    /// Service name → the register behind it and the provider's own activity.
    upstreams: HashMap<String, Upstream>,
    forwarder: Forwarder,
    clock: Arc<dyn Clock>,
    metrics: std::sync::OnceLock<ExchangeMetrics>,
}

/// A service an inway offers, as its organisation configures it.
#[derive(Debug, Clone)]
pub struct InwayService {
    /// The register's base URL inside the provider's network (`http://host:port`).
    pub register: String,
    /// The processing activity, in the register of the inway's log, under which the
    /// organisation provides this service's data to others (a "verstrekking").
    pub activity: String,
}

#[derive(Debug)]
struct Upstream {
    uri: http::Uri,
    activity: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InwayError {
    #[error("the address of service {service}'s register: {error}")]
    Upstream { service: String, error: String },
    #[error(
        "service {service}: processing activity {activity} is not in the register of processing activities of log {log}"
    )]
    ActivityUnknown {
        service: String,
        activity: String,
        log: String,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

impl Inway {
    pub fn new(
        oin: &str,
        manager: Manager,
        log: Logboek,
        services: HashMap<String, InwayService>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, InwayError> {
        let forwarder = Forwarder::new(tls::trusting_no_server()?);
        let upstreams = services
            .into_iter()
            .map(|(service, offered)| {
                if log.activities().get(&offered.activity).is_none() {
                    return Err(InwayError::ActivityUnknown {
                        service,
                        activity: offered.activity,
                        log: log.name().to_owned(),
                    });
                }
                match forward::base_uri(&offered.register) {
                    Ok(uri) => Ok((
                        service,
                        Upstream {
                            uri,
                            activity: offered.activity,
                        },
                    )),
                    Err(error) => Err(InwayError::Upstream { service, error }),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                oin: oin.to_owned(),
                manager,
                log,
                upstreams,
                forwarder,
                clock,
                metrics: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Count refusals and withheld answers in `metrics` from now on. Only the first
    /// call counts.
    pub fn report_to(&self, metrics: &ExchangeMetrics) {
        let _ = self.inner.metrics.set(metrics.clone());
    }

    pub fn service(self) -> HttpService {
        // Other organisations reach it: the process's metrics and readiness are not
        // theirs to read (a request for those paths is one for the service).
        gateway::pass_through("inway", handle, self).without_operator_routes()
    }
}

/// The grant this request may use, or why not.
fn check(
    inway: &Inner,
    policy: &Policy,
    peer: &Peer,
    grant_hash: Option<&str>,
    activity: Option<&str>,
) -> Result<Connection, Denial> {
    let certificate = peer.certificate.as_ref().ok_or(Denial::NoCertificate)?;
    // Checked at the handshake; lists that came since then, and a certificate that has
    // ended since, count for every request on a connection opened before.
    if peer
        .sent
        .as_ref()
        .is_none_or(|sent| inway.manager.trust().refuses(sent))
    {
        return Err(Denial::NoCertificate);
    }
    if !policy.peers.contains_key(certificate.oin.as_str()) {
        return Err(Denial::UnknownPeer);
    }
    let grant_hash = grant_hash.ok_or(Denial::GrantHashMissing)?;
    let connection = policy
        .connections
        .get(grant_hash)
        .ok_or(Denial::GrantNotFound)?;
    if connection.consumer != certificate.oin.as_str() {
        return Err(Denial::WrongPeer);
    }
    if connection.thumbprint != certificate.thumbprint {
        return Err(Denial::WrongThumbprint);
    }
    // The service must be offered here, and published by this organisation now: a
    // connection does not outlast the publication it was made under.
    let published = policy
        .services
        .get(&connection.service)
        .is_some_and(|service| service.peer_id == inway.oin);
    if connection.provider != inway.oin
        || !inway.upstreams.contains_key(&connection.service)
        || !published
    {
        return Err(Denial::ServiceNotFound);
    }
    if !connection.valid_at(inway.clock.now()) {
        return Err(Denial::GrantExpired);
    }
    let activity = activity.ok_or(Denial::ProcessingActivityMissing)?;
    if !connection
        .processing_activities
        .iter()
        .any(|a| a == activity)
    {
        return Err(Denial::ProcessingActivityNotGranted);
    }
    Ok(connection.clone())
}

/// The transaction id the outway gave, in its one written form (lowercase, hyphenated):
/// a UUID given otherwise cannot carry other text into the log. A new one if none is.
fn transaction_id(given: Option<&str>) -> String {
    match given.map(|id| (id, uuid::Uuid::parse_str(id))) {
        // Of the forms a UUID parses from, only the hyphenated one has 36 characters.
        Some((id, Ok(_))) if id.len() == 36 && !id.bytes().any(|b| b.is_ascii_uppercase()) => {
            id.to_owned()
        }
        Some((_, Ok(parsed))) => parsed.hyphenated().to_string(),
        _ => uuid::Uuid::now_v7().hyphenated().to_string(),
    }
}

async fn handle(
    State(inway): State<Inway>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    RequestTrace(trace): RequestTrace,
    request: Request,
) -> Response {
    let inner = &inway.inner;
    let clock = inner.clock.as_ref();
    let (parts, body) = request.into_parts();
    let grant_hash = header(&parts.headers, GRANT_HASH);
    let activity = header(&parts.headers, PROCESSING_ACTIVITY);
    let policy = inner.manager.policy();
    let connection = policy.connections.get(grant_hash.unwrap_or_default());
    let own_activity = |service: &str| inner.upstreams.get(service).map(|u| u.activity.clone());
    let mut action = Action {
        trace,
        start: clock.now(),
        direction: Direction::Incoming,
        transaction_id: transaction_id(header(&parts.headers, TRANSACTION_ID)),
        grant_hash: grant_hash.map(|hash| gateway::as_recorded_when(hash, connection.is_some())),
        source_peer: peer
            .certificate
            .as_ref()
            .map_or_else(String::new, |c| c.oin.as_str().to_owned()),
        destination_peer: inner.oin.clone(),
        service: connection.map_or_else(|| "onbekend".to_owned(), |c| c.service.clone()),
        // Only a grant for this provider's own service is under its own activity.
        activity: connection
            .filter(|c| c.provider == inner.oin)
            .and_then(|c| own_activity(&c.service)),
        stated_activity: Some(
            activity.map(|a| {
                gateway::as_recorded(a, || gateway::known_activity(&policy, &inner.log, a))
            }),
        ),
        fields: Vec::new(),
        metrics: inner.metrics.get().cloned(),
    };
    // The body first, so that a refusal names whose data was asked for (the body is
    // held to the size limit either way).
    let bytes = match action.body(&inner.log, clock, &parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(denial) => return denial.into_response(),
    };
    let body = RequestBody::read(&parts.headers, &bytes);
    let named = match action.note_request(&inner.log, clock, &body).await {
        Ok(named) => named,
        Err(denial) => return denial.into_response(),
    };
    // The policy as it is now the body is in: a grant revoked while it was being sent
    // does not let it through.
    let policy = inner.manager.policy();
    let connection =
        match check(inner, &policy, &peer, grant_hash, activity).and_then(|connection| {
            gateway::fields_allowed(&connection, &parts.method, &body).map(|()| connection)
        }) {
            Ok(connection) => connection,
            Err(denial) => {
                return action
                    .refuse(&inner.log, clock, denial, &named)
                    .await
                    .into_response();
            }
        };
    // What the grant names is recorded exact (it may have come in while the body did).
    action.service.clone_from(&connection.service);
    action.grant_hash = Some(connection.grant_hash.clone());
    action.activity = own_activity(&connection.service);
    action.stated_activity = Some(activity.map(str::to_owned));
    let subject_field = policy
        .services
        .get(&connection.service)
        .and_then(|s| s.subject_field.clone());
    // A body the inway cannot read as a JSON object could still be read by the register
    // (which may ignore its content type): the inway could neither ask for the subject
    // nor tell whose data it is. Only a service about persons needs that.
    if subject_field.is_some() && !bytes.is_empty() && body.named().is_none() {
        return action
            .refuse(&inner.log, clock, Denial::BodyUnreadable, &named)
            .await
            .into_response();
    }
    // Ask the register for the subject too, so the log is exact; taken out again below.
    let amended = match (body.named(), &subject_field) {
        (Some(request), Some(field)) => request.with_field(&bytes, field),
        _ => None,
    };
    let added = amended.is_some();
    drop(body);
    if let Err(denial) = action.before_forwarding(&inner.log, clock, &named).await {
        return denial.into_response();
    }
    let Some(upstream) = inner.upstreams.get(&connection.service).map(|u| &u.uri) else {
        // Not reached: `check` found it there, and the upstreams never change.
        return Denial::ServiceNotFound.into_response();
    };
    let body = amended.map_or(bytes, Bytes::from);
    let traceparent = action.trace.to_traceparent();
    let request = forward::uri(upstream, parts.uri.path(), parts.uri.query()).and_then(|uri| {
        forward::request(
            parts.method.clone(),
            uri,
            &parts.headers,
            [("traceparent", traceparent.as_str())],
            body,
        )
    });
    let answer = match request {
        Ok(request) => inner.forwarder.send(request).await,
        Err(error) => Err(ForwardError::from(error)),
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, service = %connection.service, "register unreachable");
            return action.unreachable(&inner.log, clock, &named).await;
        }
    };
    let status = answer.status;
    let content_type = answer.headers.get(header::CONTENT_TYPE).cloned();
    let api_version = answer.headers.get("api-version").cloned();
    let mut body = answer.body;
    let mut about = named.clone();
    if status.is_success() {
        let scan = match &subject_field {
            Some(field) => answer_subjects::per_item(&body, field, added, MAX_ANSWER_SUBJECTS).map(
                |(found, written)| {
                    if let Some(written) = written {
                        body = written.into();
                    }
                    found
                },
            ),
            // Published without its subject field: every BSN anywhere in the answer
            // counts, as at the outway, so the log still names whose data went out.
            None => subjects::anywhere(&body, MAX_ANSWER_SUBJECTS),
        };
        // The inway must read an answer it has to take the subject field out of.
        let must_read = added || gateway::says_json(&answer.headers);
        match gateway::answer_about(&named, scan, must_read) {
            Ok(whom) => about = whom,
            Err(reason) => return action.withhold(&inner.log, clock, reason, &named).await,
        }
    }
    if let Err(denial) = action
        .answered(&inner.log, clock, status.is_success(), None, &about, &named)
        .await
    {
        return denial.into_response();
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(value) = content_type {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = api_version {
        headers.insert("api-version", value);
    }
    if let Ok(value) = HeaderValue::from_str(&action.transaction_id) {
        headers.insert(TRANSACTION_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_id_is_kept_in_its_one_written_form() {
        let canonical = "01936f5e-7a2b-7c3d-8e4f-0123456789ab";
        assert_eq!(transaction_id(Some(canonical)), canonical);
        for other in [
            "01936F5E-7A2B-7C3D-8E4F-0123456789AB",
            "01936f5e7a2b7c3d8e4f0123456789ab",
            "{01936f5e-7a2b-7c3d-8e4f-0123456789ab}",
            "urn:uuid:01936f5e-7a2b-7c3d-8e4f-0123456789ab",
        ] {
            assert_eq!(transaction_id(Some(other)), canonical, "{other}");
        }
        for none in [None, Some("999990007"), Some("not a uuid")] {
            let made = transaction_id(none);
            let parsed = uuid::Uuid::parse_str(&made).unwrap_or_default();
            assert_eq!(parsed.get_version_num(), 7, "{none:?}: {made}");
            assert_eq!(made.len(), 36);
        }
    }

    proptest::proptest! {
        /// Whatever the header holds, the log gets a UUID in its one written form: the
        /// given one (in any spelling a UUID parses from) or a new one. No other text gets
        /// through to a record.
        #[test]
        fn any_transaction_id_header_gives_one_written_uuid(
            bytes in proptest::array::uniform16(proptest::num::u8::ANY),
            spelling in 0..5usize,
            junk in "\\PC{0,40}",
            use_junk in proptest::bool::ANY,
        ) {
            let id = uuid::Uuid::from_bytes(bytes);
            let given = if use_junk {
                junk
            } else {
                match spelling {
                    0 => id.hyphenated().to_string(),
                    1 => id.hyphenated().to_string().to_uppercase(),
                    2 => id.simple().to_string(),
                    3 => id.braced().to_string(),
                    _ => id.urn().to_string(),
                }
            };
            let written = transaction_id(Some(&given));
            let parsed = uuid::Uuid::parse_str(&written).unwrap();
            proptest::prop_assert_eq!(&written, &parsed.hyphenated().to_string());
            match uuid::Uuid::parse_str(&given) {
                Ok(same) => proptest::prop_assert_eq!(parsed, same),
                Err(_) => proptest::prop_assert_eq!(parsed.get_version_num(), 7),
            }
        }
    }
}
