//! The shared HTTP edge, exercised over a real socket: every bad input becomes a
//! problem+json with the right status, never a 500 or a hang.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use loket_core::{Problem, TraceContext};
use loket_http::{
    ApiError, ApiJson, ApiQuery, ErrorPages, FormInput, HttpService, JSON_BODY_LIMIT, Metrics,
    OutgoingClient, ReadinessCheck, RequestTrace,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Verzoek {
    naam: String,
    aantal: u32,
}

async fn echo(ApiJson(body): ApiJson<Verzoek>) -> axum::Json<Value> {
    axum::Json(json!({ "naam": body.naam, "aantal": body.aantal }))
}

async fn conflict() -> Result<(), ApiError> {
    Err(Problem::new(409, "conflict", "Bestaat al.").into())
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

async fn explode() -> &'static str {
    panic!("a bug");
}

#[derive(Debug, Deserialize)]
struct Formulier {
    naam: String,
}

async fn form(axum::Form(form): axum::Form<Formulier>) -> String {
    form.naam
}

async fn checked_form(FormInput(form): FormInput<Formulier>) -> String {
    form.naam
}

async fn checked_query(ApiQuery(query): ApiQuery<Formulier>) -> String {
    query.naam
}

async fn plain_teapot() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::IM_A_TEAPOT, "upstream's own words")
}

struct Flaky(bool);

#[async_trait::async_trait]
impl ReadinessCheck for Flaky {
    fn name(&self) -> &str {
        "store"
    }
    async fn check(&self) -> Result<(), String> {
        if self.0 {
            Ok(())
        } else {
            Err("database unreachable".into())
        }
    }
}

struct Pages;

impl ErrorPages for Pages {
    fn render(&self, problem: &Problem, _: &axum::http::HeaderMap, _: &str) -> String {
        format!("<!doctype html><h1>Fout {}</h1>", problem.status)
    }
}

async fn start(service: HttpService) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = service.into_router(Metrics::new());
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    format!("http://{address}")
}

async fn test_service(ready: bool) -> String {
    let routes = Router::new()
        .route("/echo", post(echo))
        .route("/conflict", get(conflict))
        .route("/slow", get(slow))
        .route("/explode", get(explode))
        .route("/form", post(form))
        .route("/checked-form", post(checked_form))
        .route("/query", get(checked_query))
        .route("/plain", get(plain_teapot));
    start(
        HttpService::new("test", routes)
            .readiness(Arc::new(Flaky(ready)))
            .error_pages(Arc::new(Pages))
            .timeout(Duration::from_millis(300)),
    )
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    for member in ["type", "title", "code", "instance"] {
        assert!(body[member].is_string(), "problem lacks {member}: {body}");
    }
    body
}

#[tokio::test]
async fn good_json_is_accepted() {
    let base = test_service(true).await;
    let response = client()
        .post(format!("{base}/echo"))
        .json(&json!({"naam": "Jan", "aantal": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"naam": "Jan", "aantal": 2})
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let base = test_service(true).await;
    let response = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body("{\"naam\": \"Jan\",")
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "badRequest");
    assert_eq!(body["instance"], "/echo");
}

#[tokio::test]
async fn json_of_the_wrong_shape_names_the_field() {
    let base = test_service(true).await;
    let response = client()
        .post(format!("{base}/echo"))
        .json(&json!({"naam": "Jan", "aantal": -1}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "paramsValidation");
    assert_eq!(body["invalidParams"][0]["name"], "aantal");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let base = test_service(true).await;
    let response = client()
        .post(format!("{base}/echo"))
        .header("content-type", "text/plain")
        .body("{\"naam\": \"Jan\", \"aantal\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response, 415).await["code"], "unsupportedMediaType");
    let missing = client()
        .post(format!("{base}/echo"))
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(missing, 415).await;
}

#[tokio::test]
async fn oversized_bodies_are_413_whether_announced_or_streamed() {
    let base = test_service(true).await;
    let big = format!(
        "{{\"naam\": \"{}\", \"aantal\": 1}}",
        "x".repeat(JSON_BODY_LIMIT)
    );
    let announced = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(announced, 413).await["code"], "payloadTooLarge");

    // Chunked: no Content-Length, so the limit must hold while reading.
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let streamed = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    problem(streamed, 413).await;
}

/// Counts the bytes of an upload.
async fn count(body: axum::body::Bytes) -> String {
    body.len().to_string()
}

#[tokio::test]
async fn only_upload_paths_take_larger_bodies_and_only_up_to_their_limit() {
    const UPLOAD: usize = 3 * 1024 * 1024;
    let routes = Router::new()
        .route(
            "/upload/file",
            post(count).layer(axum::extract::DefaultBodyLimit::max(UPLOAD)),
        )
        .route("/other", post(count));
    let base = start(HttpService::new("test", routes).large_bodies("/upload/", UPLOAD)).await;
    let two_mib = vec![b'x'; 2 * 1024 * 1024];
    let taken = client()
        .post(format!("{base}/upload/file"))
        .body(two_mib.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status().as_u16(), 200);
    assert_eq!(taken.text().await.unwrap(), (2 * 1024 * 1024).to_string());
    let elsewhere = client()
        .post(format!("{base}/other"))
        .body(two_mib)
        .send()
        .await
        .unwrap();
    problem(elsewhere, 413).await;
    let too_big = client()
        .post(format!("{base}/upload/file"))
        .body(vec![b'x'; UPLOAD + 1])
        .send()
        .await
        .unwrap();
    problem(too_big, 413).await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let base = test_service(true).await;
    let missing = client()
        .get(format!("{base}/bestaat-niet"))
        .send()
        .await
        .unwrap();
    let body = problem(missing, 404).await;
    assert_eq!(body["instance"], "/bestaat-niet");
    let wrong = client()
        .delete(format!("{base}/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.headers().get("allow").map(|v| v.to_str().unwrap()),
        Some("POST")
    );
    problem(wrong, 405).await;
}

#[tokio::test]
async fn handler_problems_keep_their_status_and_code() {
    let base = test_service(true).await;
    let response = client()
        .get(format!("{base}/conflict"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response, 409).await["code"], "conflict");
}

#[tokio::test]
async fn browsers_get_the_html_page_with_the_same_status() {
    let base = test_service(true).await;
    let response = client()
        .get(format!("{base}/bestaat-niet"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains("Fout 404"));
}

#[tokio::test]
async fn slow_handlers_time_out_with_a_problem() {
    let base = test_service(true).await;
    let response = client().get(format!("{base}/slow")).send().await.unwrap();
    assert_eq!(problem(response, 503).await["code"], "timeout");
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_and_the_server_lives_on() {
    let base = test_service(true).await;
    let response = client()
        .get(format!("{base}/explode"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn readiness_reports_failing_checks() {
    let ready = test_service(true).await;
    let body: Value = client()
        .get(format!("{ready}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"status": "ready", "checks": {"store": "ok"}}));

    let unready = test_service(false).await;
    assert_eq!(
        client()
            .get(format!("{unready}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let body = problem(
        client()
            .get(format!("{unready}/readyz"))
            .send()
            .await
            .unwrap(),
        503,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("store: database unreachable")
    );
}

/// An API that names its version does so on every answer: its own, the edge's refusals
/// before the routes (404, 413, a timeout) and the panic guard's.
#[tokio::test]
async fn a_named_api_version_is_on_every_answer() {
    let routes = Router::new()
        .route("/echo", post(echo))
        .route("/slow", get(slow))
        .route("/explode", get(explode));
    let base = start(
        HttpService::new("test", routes)
            .api_version("1.2.3")
            .timeout(Duration::from_millis(300)),
    )
    .await;
    let oversized = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(vec![b' '; loket_http::JSON_BODY_LIMIT + 1]);
    let requests = [
        (client().get(format!("{base}/healthz")), 200),
        (client().get(format!("{base}/bestaat-niet")), 404),
        (client().get(format!("{base}/echo")), 405),
        (oversized, 413),
        (client().get(format!("{base}/slow")), 503),
        (client().get(format!("{base}/explode")), 500),
    ];
    for (request, status) in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["api-version"], "1.2.3", "{status}");
    }
    // Without a version named, none is made up.
    let base = test_service(true).await;
    let response = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("api-version").is_none());
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let base = test_service(true).await;
    // `/explode` panics: the guard's answer is made outside the edge's layers.
    for path in ["/healthz", "/bestaat-niet", "/explode"] {
        let response = client().get(format!("{base}{path}")).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["strict-transport-security"], "max-age=31536000");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let base = test_service(true).await;
    client()
        .get(format!("{base}/conflict"))
        .send()
        .await
        .unwrap();
    client()
        .get(format!("{base}/nergens/123"))
        .send()
        .await
        .unwrap();
    // A made-up method is counted, but never becomes a label of its own.
    for made_up in ["VERZONNEN1", "VERZONNEN2"] {
        client()
            .request(
                reqwest::Method::from_bytes(made_up.as_bytes()).unwrap(),
                format!("{base}/conflict"),
            )
            .send()
            .await
            .unwrap();
    }
    let response = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains(r#"loket_http_requests_total{service="test",method="GET",route="/conflict",status="409"} 1"#), "{text}");
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("/nergens/123"),
        "raw paths must not become labels"
    );
    assert!(!text.contains("VERZONNEN"), "{text}");
    assert!(
        text.contains(r#"method="other",route="/conflict",status="405"} 2"#),
        "{text}"
    );
}

/// A caller's trace continues through our service into the next one.
#[tokio::test]
async fn traceparent_is_accepted_and_propagated() {
    // Downstream echoes the traceparent it received.
    let downstream = start(HttpService::new(
        "downstream",
        Router::new().route(
            "/echo-trace",
            get(|headers: axum::http::HeaderMap| async move {
                headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            }),
        ),
    ))
    .await;
    // Upstream calls downstream with the outgoing client, and reports both spans.
    let client_for_upstream = OutgoingClient::new(Duration::from_secs(5)).unwrap();
    let target = format!("{downstream}/echo-trace");
    let upstream = start(HttpService::new(
        "upstream",
        Router::new().route(
            "/call",
            get(move |RequestTrace(ours): RequestTrace| {
                let client = client_for_upstream.clone();
                let target = target.clone();
                async move {
                    let (request, outgoing) = client.get(&target, &ours);
                    let received = request.send().await.unwrap().text().await.unwrap();
                    axum::Json(json!({
                        "ours": ours.span_id.to_string(),
                        "trace": ours.trace_id.to_string(),
                        "outgoing": outgoing.to_traceparent(),
                        "received": received,
                    }))
                }
            }),
        ),
    ))
    .await;

    let caller =
        TraceContext::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .unwrap();
    let body: Value = client()
        .get(format!("{upstream}/call"))
        .header("traceparent", caller.to_traceparent())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["trace"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the caller's trace continues"
    );
    assert_ne!(
        body["ours"], "00f067aa0ba902b7",
        "we work in a span of our own"
    );
    assert_eq!(
        body["received"], body["outgoing"],
        "downstream got exactly what we sent"
    );
    let received = TraceContext::parse_traceparent(body["received"].as_str().unwrap()).unwrap();
    assert_eq!(
        received.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_ne!(
        received.span_id.to_string(),
        body["ours"].as_str().unwrap(),
        "the outgoing call is a child span"
    );

    // Garbage in the header starts a fresh trace instead of failing the request.
    let fresh = client()
        .get(format!("{upstream}/call"))
        .header("traceparent", "nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn axum_s_own_refusals_are_problems_too() {
    let base = test_service(true).await;
    let no_form = client()
        .post(format!("{base}/form"))
        .header("content-type", "text/plain")
        .body("naam=Jan")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(no_form, 415).await["code"], "unsupportedMediaType");
    let missing_field = client()
        .post(format!("{base}/form"))
        .form(&[("leeftijd", "40")])
        .send()
        .await
        .unwrap();
    let status = missing_field.status().as_u16();
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(problem(missing_field, status).await["code"], "badRequest");
    let good = client()
        .post(format!("{base}/form"))
        .form(&[("naam", "Jan")])
        .send()
        .await
        .unwrap();
    assert_eq!(good.text().await.unwrap(), "Jan");
    // A browser gets the service's page for them, not axum's English text.
    let page = client()
        .post(format!("{base}/form"))
        .header("accept", "text/html")
        .header("content-type", "text/plain")
        .body("naam=Jan")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 415);
    assert!(page.text().await.unwrap().contains("Fout 415"));
}

/// NUL (U+0000) in a form, a query or a JSON body is refused before a handler sees it:
/// PostgreSQL cannot store it, and SQLite alone would.
#[tokio::test]
async fn text_holding_nul_is_refused_before_a_handler_runs() {
    let base = test_service(true).await;
    let good = client()
        .post(format!("{base}/checked-form"))
        .form(&[("naam", "Jan de Vries")])
        .send()
        .await
        .unwrap();
    assert_eq!(good.text().await.unwrap(), "Jan de Vries");
    let form = client()
        .post(format!("{base}/checked-form"))
        .form(&[("naam", "Jan\0")])
        .send()
        .await
        .unwrap();
    assert_eq!(problem(form, 400).await["invalidParams"][0]["name"], "naam");
    let query = client()
        .get(format!("{base}/query?naam=a%00b"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(query, 400).await["invalidParams"][0]["name"],
        "naam"
    );
    let json = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(r#"{"naam":"Jan\u0000","aantal":1}"#)
        .send()
        .await
        .unwrap();
    assert!(
        problem(json, 400).await["detail"]
            .as_str()
            .unwrap()
            .contains("NUL")
    );
    let escaped = client()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(r#"{"naam":"C:\\u0000","aantal":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        escaped.json::<Value>().await.unwrap()["naam"],
        "C:\\u0000",
        "a backslash followed by text is no NUL"
    );
    // A browser gets the page, with the same status.
    let page = client()
        .post(format!("{base}/checked-form"))
        .header("accept", "text/html")
        .form(&[("naam", "\0")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("Fout 400"));
    let not_a_form = client()
        .post(format!("{base}/checked-form"))
        .header("content-type", "text/plain")
        .body("naam=Jan")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(not_a_form, 415).await["code"],
        "unsupportedMediaType"
    );
}

/// Another service's answer is read up to `MAX_ANSWER`, whether its length is announced
/// or it streams; one byte more is refused.
#[tokio::test]
async fn answers_from_elsewhere_are_read_up_to_the_limit() {
    use loket_http::{AnswerError, MAX_ANSWER, json_answer};
    // A JSON string of `n` bytes in all.
    let string_of = |n: usize| format!("\"{}\"", "x".repeat(n - 2));
    let routes = Router::new()
        .route("/vol", get(move || async move { string_of(MAX_ANSWER) }))
        .route(
            "/te-groot",
            get(move || async move { string_of(MAX_ANSWER + 1) }),
        )
        .route(
            "/stroom",
            get(|| async {
                let chunks =
                    (0..=MAX_ANSWER / 65_536).map(|_| Ok::<_, std::io::Error>(vec![b' '; 65_536]));
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        );
    let base = start(HttpService::new("elders", routes).passes_answers_through()).await;
    let answer = |path: &'static str| {
        let base = base.clone();
        async move {
            let response = client().get(format!("{base}{path}")).send().await.unwrap();
            json_answer::<String>(response).await
        }
    };
    assert_eq!(answer("/vol").await.unwrap().len(), MAX_ANSWER - 2);
    assert!(matches!(
        answer("/te-groot").await,
        Err(AnswerError::TooLarge)
    ));
    assert!(matches!(
        answer("/stroom").await,
        Err(AnswerError::TooLarge)
    ));
}

#[tokio::test]
async fn a_gateway_passes_an_upstream_s_plain_error_unchanged() {
    let routes = || Router::new().route("/plain", get(plain_teapot));
    let gateway = start(HttpService::new("gateway", routes()).passes_answers_through()).await;
    let response = client()
        .get(format!("{gateway}/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 418);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "upstream's own words");
    // Any other service takes a plain-text error for axum's and makes it a problem.
    let service = start(HttpService::new("service", routes())).await;
    let response = client()
        .get(format!("{service}/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response, 418).await["code"], "badRequest");
}
