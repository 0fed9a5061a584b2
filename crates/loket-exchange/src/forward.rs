//! The HTTP client an outway forwards to an inway with (mutual TLS), and an inway to its
//! register: hyper's pooled client, without the layers a general-purpose client adds
//! (following redirects, retries, parsing each URL again on the way in and out). A
//! gateway passes a redirect back to its caller rather than following it somewhere else.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header, uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::tls::ServerEnds;

/// An answer, read whole: within 25 s of sending (under the edge's 30 s).
const ANSWER_WITHIN: Duration = Duration::from_secs(25);
const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// The largest answer a gateway takes from upstream ([`loket_http::MAX_ANSWER`]). It holds
/// an answer whole (to find whose data it carries), so a provider must not be able to make
/// it hold any amount.
pub(crate) const MAX_ANSWER: usize = loket_http::MAX_ANSWER;

#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The servers' certificate ends its connections were made with, when its TLS
    /// notes them ([`crate::tls::client_config_for`]).
    ends: Option<Arc<ServerEnds>>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error(transparent)]
    Request(#[from] hyper_util::client::legacy::Error),
    #[error("the answer broke off: {0}")]
    Body(#[from] hyper::Error),
    #[error("the answer is larger than {MAX_ANSWER} bytes")]
    TooLarge,
    #[error("the answer broke off: {0}")]
    Broken(String),
    #[error("cannot make the request: {0}")]
    Build(#[from] http::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// An answer from upstream.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Forwarder {
    /// Every connection is kept for reuse up to a generous bound. With fewer idle slots
    /// than requests in flight, each burst closes the surplus and the next one opens new
    /// connections (and, outway to inway, does new TLS handshakes): at 128 in flight with
    /// 64 slots the inway opened about 220 connections a second to the register.
    /// `tls` is how to reach `https` addresses; without trust anchors in it, none is.
    pub(crate) fn new(tls: rustls::ClientConfig) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_WITHIN));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1024)
            .build(connector);
        Self { client, ends: None }
    }

    /// As [`Forwarder::new`], for TLS that notes its servers' certificate ends in `ends`.
    pub(crate) fn noting(tls: rustls::ClientConfig, ends: Arc<ServerEnds>) -> Self {
        Self {
            ends: Some(ends),
            ..Self::new(tls)
        }
    }

    /// Whether a certificate a server sent on one of its connections has ended: its kept
    /// connections must not be used any more.
    pub(crate) fn outlived(&self) -> bool {
        self.ends.as_ref().is_some_and(|ends| ends.passed())
    }

    /// Send `request` and read its answer whole.
    pub(crate) async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, ForwardError> {
        let exchange = async {
            let answer = self.client.request(request).await?;
            let (parts, body) = answer.into_parts();
            // An announced length past the limit is refused before anything is read.
            if hyper::body::Body::size_hint(&body)
                .exact()
                .is_some_and(|length| length > MAX_ANSWER as u64)
            {
                return Err(ForwardError::TooLarge);
            }
            let body = match http_body_util::Limited::new(body, MAX_ANSWER)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    return Err(ForwardError::TooLarge);
                }
                Err(error) => {
                    return Err(match error.downcast::<hyper::Error>() {
                        Ok(broken) => ForwardError::Body(*broken),
                        Err(other) => ForwardError::Broken(other.to_string()),
                    });
                }
            };
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(ANSWER_WITHIN, exchange)
            .await
            .map_err(|_| ForwardError::TimedOut(ANSWER_WITHIN))?
    }
}

/// Where to forward a request for `path` and `query`: under `base` (an address parsed
/// once, so a request costs no parse of its scheme and host).
pub(crate) fn uri(base: &Uri, path: &str, query: Option<&str>) -> Result<Uri, http::Error> {
    let prefix = base.path().trim_end_matches('/');
    let mut target =
        String::with_capacity(prefix.len() + path.len() + query.map_or(0, str::len) + 2);
    target.push_str(prefix);
    if !path.starts_with('/') {
        target.push('/');
    }
    target.push_str(path);
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    let mut parts = uri::Parts::default();
    parts.scheme = base.scheme().cloned();
    parts.authority = base.authority().cloned();
    parts.path_and_query = Some(uri::PathAndQuery::try_from(target)?);
    Ok(Uri::from_parts(parts)?)
}

/// The request to forward: `method` to `uri`, with `extra` headers, the content type and
/// accepted types of the incoming request (`incoming`), and `body`.
pub(crate) fn request<'a>(
    method: Method,
    uri: Uri,
    incoming: &HeaderMap,
    extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, http::Error> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in extra {
        request = request.header(name, value);
    }
    for name in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = incoming.get(&name) {
            request = request.header(name, value);
        }
    }
    request.body(Full::new(body))
}

/// An upstream's address as a forwarder takes it: `http` or `https`, with a host.
pub(crate) fn base_uri(address: &str) -> Result<Uri, String> {
    let uri: Uri = address
        .parse()
        .map_err(|e: uri::InvalidUri| e.to_string())?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) if uri.query().is_none() => Ok(uri),
        _ => Err(format!("{address} is not an http(s) address with a host")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// An answer up to the limit is read whole; one byte more is refused, whether its
    /// length is announced or it streams.
    #[tokio::test]
    async fn an_answer_past_the_limit_is_refused() {
        use axum::routing::get;
        let routes = axum::Router::new()
            .route("/vol", get(|| async { vec![b'x'; MAX_ANSWER] }))
            .route("/te-groot", get(|| async { vec![b'x'; MAX_ANSWER + 1] }))
            .route(
                "/stroom",
                get(|| async {
                    let chunks = (0..=MAX_ANSWER / 65_536)
                        .map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 65_536])));
                    axum::body::Body::from_stream(futures::stream::iter(chunks))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = base_uri(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, routes).await });
        let forwarder = Forwarder::new(crate::tls::trusting_no_server().unwrap());
        let get = |path: &str| {
            let request = request(
                Method::GET,
                uri(&base, path, None).unwrap(),
                &HeaderMap::new(),
                [],
                Bytes::new(),
            )
            .unwrap();
            forwarder.send(request)
        };
        assert_eq!(get("/vol").await.unwrap().body.len(), MAX_ANSWER);
        assert!(matches!(
            get("/te-groot").await,
            Err(ForwardError::TooLarge)
        ));
        assert!(matches!(get("/stroom").await, Err(ForwardError::TooLarge)));
    }

    #[test]
    fn a_request_goes_under_its_base() {
        let base = base_uri("https://127.0.0.1:8443").unwrap();
        let target = uri(&base, "/haalcentraal/api/brp/personen", None).unwrap();
        assert_eq!(
            target.to_string(),
            "https://127.0.0.1:8443/haalcentraal/api/brp/personen"
        );
        let target = uri(&base, "zaken", Some("a=1&b=%20")).unwrap();
        assert_eq!(target.to_string(), "https://127.0.0.1:8443/zaken?a=1&b=%20");
        let prefixed = base_uri("http://register.internal:8080/brp/").unwrap();
        let target = uri(&prefixed, "/personen", Some("x=y")).unwrap();
        assert_eq!(
            target.to_string(),
            "http://register.internal:8080/brp/personen?x=y"
        );
    }

    #[test]
    fn only_http_addresses_with_a_host_are_bases() {
        for bad in [
            "ftp://x",
            "/relative",
            "http://",
            "https://host/?q=1",
            "not a url",
        ] {
            assert!(base_uri(bad).is_err(), "{bad}");
        }
        assert!(base_uri("http://localhost").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_path_and_query_that_parse_are_kept(
            path in "(/[a-zA-Z0-9%._~-]{0,12}){0,4}",
            query in proptest::option::of("[a-zA-Z0-9=&%._~-]{0,20}"),
        ) {
            let base = base_uri("https://127.0.0.1:1").unwrap();
            let target = uri(&base, &path, query.as_deref()).unwrap();
            let expected_path = if path.is_empty() { "/" } else { path.as_str() };
            proptest::prop_assert_eq!(target.path(), expected_path);
            proptest::prop_assert_eq!(target.query(), query.as_deref());
            proptest::prop_assert_eq!(target.authority().map(|a| a.as_str()), Some("127.0.0.1:1"));
        }
    }
}
