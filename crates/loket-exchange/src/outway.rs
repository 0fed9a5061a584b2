//! The outway: how an organisation's applications reach other organisations' services.
//! An application names the service in the path and states its processing activity; the
//! outway picks the grant for it, logs, and forwards over mutual TLS to the inway.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use loket_core::Clock;
use loket_http::{HttpService, RequestTrace};
use loket_logboek::{Direction, Logboek};

use crate::denial::{Denial, FSC_ERROR_CODE};
use crate::forward::{self, ForwardError, Forwarder};
use crate::gateway::{
    self, Action, GRANT_HASH, MAX_ANSWER_SUBJECTS, PROCESSING_ACTIVITY, TRANSACTION_ID, header,
};
use crate::manager::{Connection, Manager, Policy};
use crate::metrics::ExchangeMetrics;
use crate::pki::Identity;
use crate::request_body::RequestBody;
use crate::subjects;
use crate::tls;

#[derive(Debug, Clone)]
pub struct Outway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    oin: String,
    manager: Manager,
    log: Logboek,
    /// What the TLS towards a provider is made of: the current identity first, then the
    /// previous one, if any (its key index is 1).
    keys: Vec<OwnKey>,
    trust: tls::Trust,
    /// Per key (as in `keys`), one pooled client per provider, each accepting only that
    /// provider's inway.
    forwarders: Vec<RwLock<HashMap<String, Forwarder>>>,
    /// The trust's version the clients were made under: after new revocation lists,
    /// connections already open are dropped, so each inway is checked against them.
    forwarders_trust: std::sync::atomic::AtomicU64,
    clock: Arc<dyn Clock>,
    metrics: std::sync::OnceLock<ExchangeMetrics>,
}

/// A certificate and key the outway presents for the connections that name the key.
#[derive(Debug)]
struct OwnKey {
    identity: Identity,
    /// From when peers would no longer accept it (unix seconds); checked for the previous
    /// identity only: the current one is what the organisation has.
    until: Option<i64>,
    /// Refused by the revocation lists in force (checked whenever they change): the
    /// previous identity is then no longer presented.
    refused: std::sync::atomic::AtomicBool,
    /// Whether its end has been logged (once, when a request first finds it ended).
    end_logged: std::sync::atomic::AtomicBool,
}

impl OwnKey {
    /// Whether it may be presented at `now` (unix seconds).
    fn usable_at(&self, now: i64, current: bool) -> bool {
        use std::sync::atomic::Ordering;
        if self.until.is_some_and(|until| now >= until) {
            if !self.end_logged.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    "the certificate from before the renewal has ended: the outway no longer presents it, and connections that name its key are not used"
                );
            }
            return false;
        }
        // The current identity is presented whatever the lists say: it is the only one.
        current || !self.refused.load(Ordering::Acquire)
    }
}

impl Inner {
    /// After new revocation lists: drop the connections made under the old ones, so that
    /// each inway is checked by the new, and check our own identities by them.
    fn follow_trust(&self) {
        use std::sync::atomic::Ordering;
        let version = self.trust.version();
        if self.forwarders_trust.swap(version, Ordering::AcqRel) == version {
            return;
        }
        for forwarders in &self.forwarders {
            match forwarders.write() {
                Ok(mut forwarders) => forwarders.clear(),
                Err(poisoned) => poisoned.into_inner().clear(),
            }
        }
        for (index, key) in self.keys.iter().enumerate() {
            let refused = tls::check_identity(&key.identity, &self.trust).is_err();
            let was = key.refused.swap(refused, Ordering::AcqRel);
            match (refused && !was, index) {
                (false, _) => {}
                (true, 0) => tracing::error!(
                    "the revocation lists now in force refuse this organisation's own certificate: peers will refuse its requests"
                ),
                (true, _) => tracing::warn!(
                    "the revocation lists now in force refuse the certificate from before the renewal: the outway no longer presents it"
                ),
            }
        }
    }

    /// Which of our keys (its index in `keys`) a connection naming `thumbprint` is
    /// presented with at `now`; none when that is not one we can present.
    fn key_for(&self, thumbprint: &str, now: i64) -> Option<usize> {
        self.keys.iter().enumerate().position(|(index, key)| {
            key.identity.thumbprint == thumbprint && key.usable_at(now, index == 0)
        })
    }

    /// The client towards `provider`'s inway for our key `key`: the one kept, unless a
    /// certificate its inway sent has ended since (its connections are then dropped, so
    /// that each new one is checked at its handshake).
    fn forwarder_to(&self, provider: &str, key: usize) -> Result<Forwarder, tls::TlsError> {
        let known = match self.forwarders[key].read() {
            Ok(forwarders) => forwarders.get(provider).cloned(),
            Err(poisoned) => poisoned.into_inner().get(provider).cloned(),
        };
        if let Some(forwarder) = known.filter(|known| !known.outlived()) {
            return Ok(forwarder);
        }
        let identity = &self.keys[key].identity;
        let (config, ends) = tls::client_config_for(identity, &self.trust, provider)?;
        let forwarder = Forwarder::noting(config, ends);
        let mut forwarders = match self.forwarders[key].write() {
            Ok(forwarders) => forwarders,
            Err(poisoned) => poisoned.into_inner(),
        };
        match forwarders.get(provider) {
            Some(kept) if !kept.outlived() => return Ok(kept.clone()),
            Some(_) => tracing::warn!(
                %provider,
                "a certificate this provider's inway presented has ended: the connections made with it are closed"
            ),
            None => {}
        }
        forwarders.insert(provider.to_owned(), forwarder.clone());
        Ok(forwarder)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutwayError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("the previous certificate is of another organisation ({0})")]
    PreviousOfAnotherOrganisation(String),
    #[error("the previous certificate has the current one's key: leave it out")]
    PreviousWithTheSameKey,
}

impl Outway {
    /// An outway that presents `identity`, and `previous` (the organisation's certificate
    /// before a renewal with a new key) for the connections that still name the previous
    /// key, until that certificate ends. Connections for the current key go first.
    pub fn new(
        identity: &Identity,
        previous: Option<&Identity>,
        trust: &tls::Trust,
        manager: Manager,
        log: Logboek,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OutwayError> {
        // The configuration is checked once here, so that a bad one fails at start.
        tls::client_config(identity, trust)?;
        let mut keys = vec![OwnKey {
            identity: identity.clone(),
            until: None,
            refused: false.into(),
            end_logged: false.into(),
        }];
        if let Some(previous) = previous {
            if previous.oin != identity.oin {
                return Err(OutwayError::PreviousOfAnotherOrganisation(
                    previous.oin.as_str().to_owned(),
                ));
            }
            if previous.thumbprint == identity.thumbprint {
                return Err(OutwayError::PreviousWithTheSameKey);
            }
            tls::client_config(previous, trust)?;
            keys.push(OwnKey {
                identity: previous.clone(),
                // A chain that does not parse would not be accepted by any inway.
                until: Some(previous.valid_until().unwrap_or(i64::MIN)),
                refused: tls::check_identity(previous, trust).is_err().into(),
                end_logged: false.into(),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                oin: identity.oin.as_str().to_owned(),
                manager,
                log,
                forwarders: keys.iter().map(|_| RwLock::default()).collect(),
                forwarders_trust: trust.version().into(),
                keys,
                trust: trust.clone(),
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
        gateway::pass_through("outway", handle, self)
    }
}

/// The grant of ours for `service` that covers the activity and the fields asked, and
/// the key to present with it (an index into the outway's keys).
fn choose<'p>(
    outway: &Inner,
    policy: &'p Policy,
    service: &str,
    activity: Option<&str>,
    method: &axum::http::Method,
    body: &RequestBody<'_>,
) -> Result<(&'p Connection, usize), Denial> {
    let Some(listed) = policy.services.get(service) else {
        return Err(Denial::ServiceNotFound);
    };
    outway.follow_trust();
    let now = outway.clock.now();
    // A grant is for a service of one provider: if the name now belongs to another
    // organisation, the grant does not take our requests there.
    let mut ours: Vec<(&Connection, usize)> = policy
        .connections
        .values()
        .filter(|c| c.consumer == outway.oin)
        .filter(|c| c.service == service && c.provider == listed.peer_id && c.valid_at(now))
        .filter_map(|c| Some((c, outway.key_for(&c.thumbprint, now.unix_timestamp())?)))
        .collect();
    if ours.is_empty() {
        return Err(Denial::GrantNotFound);
    }
    // The current key's connections first: the previous key is only kept for a while.
    ours.sort_by_key(|(_, key)| *key);
    let activity = activity.ok_or(Denial::ProcessingActivityMissing)?;
    let for_activity: Vec<(&Connection, usize)> = ours
        .into_iter()
        .filter(|(c, _)| c.processing_activities.iter().any(|a| a == activity))
        .collect();
    if for_activity.is_empty() {
        return Err(Denial::ProcessingActivityNotGranted);
    }
    let mut refusal = Denial::FieldNotGranted;
    for (connection, key) in for_activity {
        match gateway::fields_allowed(connection, method, body) {
            Ok(()) => return Ok((connection, key)),
            Err(denial) => refusal = denial,
        }
    }
    Err(refusal)
}

async fn handle(
    State(outway): State<Outway>,
    RequestTrace(trace): RequestTrace,
    request: Request,
) -> Response {
    let inner = &outway.inner;
    let clock = inner.clock.as_ref();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().trim_start_matches('/');
    let (service, rest) = path.split_once('/').unwrap_or((path, ""));
    let activity = header(&parts.headers, PROCESSING_ACTIVITY);
    let policy = inner.manager.policy();
    let provider = policy.services.get(service);
    let mut action = Action {
        trace,
        start: clock.now(),
        direction: Direction::Outgoing,
        transaction_id: uuid::Uuid::now_v7().to_string(),
        grant_hash: None,
        source_peer: inner.oin.clone(),
        destination_peer: provider.map(|s| s.peer_id.clone()).unwrap_or_default(),
        // The name as asked, unless no service could have it: not worth a record.
        service: if crate::manager::is_service_name(service) {
            gateway::as_recorded_when(service, provider.is_some())
        } else {
            "onbekend".to_owned()
        },
        activity: activity
            .map(|a| gateway::as_recorded(a, || gateway::known_activity(&policy, &inner.log, a))),
        stated_activity: None,
        fields: Vec::new(),
        metrics: inner.metrics.get().cloned(),
    };
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
    let provider = policy.services.get(service);
    action.destination_peer = provider.map(|s| s.peer_id.clone()).unwrap_or_default();
    let chosen = choose(inner, &policy, service, activity, &parts.method, &body);
    let ((connection, key), inway) = match (chosen, provider) {
        (Ok(chosen), Some(_)) => (chosen, policy.inways.get(service)),
        (Err(denial), _) => {
            return action
                .refuse(&inner.log, clock, denial, &named)
                .await
                .into_response();
        }
        (Ok(_), None) => {
            return action
                .refuse(&inner.log, clock, Denial::ServiceNotFound, &named)
                .await
                .into_response();
        }
    };
    action.grant_hash = Some(connection.grant_hash.clone());
    if let Err(denial) = action.before_forwarding(&inner.log, clock, &named).await {
        return denial.into_response();
    }
    let Some(inway) = inway else {
        tracing::warn!(%service, "the directory's inway address for this service is not usable");
        return action.unreachable(&inner.log, clock, &named).await;
    };
    let traceparent = action.trace.to_traceparent();
    let headers = [
        ("traceparent", traceparent.as_str()),
        (GRANT_HASH, connection.grant_hash.as_str()),
        (TRANSACTION_ID, action.transaction_id.as_str()),
        (PROCESSING_ACTIVITY, activity.unwrap_or_default()),
    ];
    let request = forward::uri(inway, rest, parts.uri.query()).and_then(|uri| {
        forward::request(
            parts.method.clone(),
            uri,
            &parts.headers,
            headers,
            bytes.clone(),
        )
    });
    let answer = match (request, inner.forwarder_to(&connection.provider, key)) {
        (Ok(request), Ok(forwarder)) => forwarder.send(request).await,
        (Err(error), _) => Err(ForwardError::from(error)),
        (_, Err(error)) => Err(ForwardError::Tls(error)),
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, %service, "inway unreachable");
            return action.unreachable(&inner.log, clock, &named).await;
        }
    };
    let status = answer.status;
    let forwarded: Vec<(header::HeaderName, HeaderValue)> = [
        header::CONTENT_TYPE,
        header::HeaderName::from_static("api-version"),
        FSC_ERROR_CODE,
    ]
    .into_iter()
    .filter_map(|name| answer.headers.get(&name).cloned().map(|v| (name, v)))
    .collect();
    // The inway's reason for a refusal goes into this log too, when it is one we know.
    let refused = answer
        .headers
        .get(&FSC_ERROR_CODE)
        .and_then(|code| code.to_str().ok())
        .and_then(Denial::from_code)
        .filter(|_| !status.is_success());
    if let Some(denial) = refused {
        action.count_at("provider", denial);
    }
    let body = answer.body;
    let mut about = named.clone();
    if status.is_success() {
        let scan = subjects::anywhere(&body, MAX_ANSWER_SUBJECTS);
        match gateway::answer_about(&named, scan, gateway::says_json(&answer.headers)) {
            Ok(whom) => about = whom,
            Err(reason) => return action.withhold(&inner.log, clock, reason, &named).await,
        }
    }
    if let Err(denial) = action
        .answered(
            &inner.log,
            clock,
            status.is_success(),
            refused,
            &about,
            &named,
        )
        .await
    {
        return denial.into_response();
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in forwarded {
        response.headers_mut().insert(name, value);
    }
    if let Ok(value) = HeaderValue::from_str(&action.transaction_id) {
        response.headers_mut().insert(TRANSACTION_ID, value);
    }
    response
}
