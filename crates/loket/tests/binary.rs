//! Tests that start the real `loket` binary and wait on its own healthcheck.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const LOKET: &str = env!("CARGO_BIN_EXE_loket");

/// A running `loket` process, killed when dropped.
struct Running {
    child: Child,
    dir: tempfile::TempDir,
    portal: String,
}

/// How to find a starting process's base URL.
#[derive(Clone, Copy)]
enum Where<'a> {
    /// In `DIR/endpoints.json` (the demo writes it once it listens).
    Endpoints(&'a Path),
    /// Known in advance.
    Url(&'a str),
}

impl Running {
    fn demo(data: &Path) -> Self {
        Self::start(
            &[
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data",
                data.to_str().unwrap(),
            ],
            &[],
            Where::Endpoints(data),
        )
    }

    /// `loket serve` or `loket register`: listens on a port we chose.
    fn on_port(args: &[&str], env: &[(&str, &str)], base_url: &str) -> Self {
        Self::start(args, env, Where::Url(base_url))
    }

    fn start(args: &[&str], env: &[(&str, &str)], wait: Where<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(LOKET)
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut running = Self {
            child,
            dir,
            portal: String::new(),
        };
        running.portal = running.wait_until_ready(wait);
        running
    }

    fn wait_until_ready(&mut self, wait: Where<'_>) -> String {
        // The base URL of the service: the portal for the demo, the one service otherwise.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "loket exited with {status} before it was ready:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "loket was not ready in 30 s:\n{}",
                self.stderr()
            );
            let base = match wait {
                Where::Endpoints(data) => {
                    read_endpoints(data).and_then(|e| e["portal"].as_str().map(str::to_owned))
                }
                Where::Url(url) => Some(url.to_owned()),
            };
            if let Some(base) = base
                && healthcheck(&base).success()
            {
                return base;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    /// SIGTERM, as an orchestrator would send; returns whether it exited cleanly.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "loket did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_endpoints(data: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(data.join("endpoints.json")).ok()?).ok()
}

fn healthcheck(url: &str) -> std::process::ExitStatus {
    Command::new(LOKET)
        .args(["healthcheck", "--url", url, "--timeout", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

fn get(url: &str, accept: &str) -> (u16, String, String) {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .header("accept", accept)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, response.text().unwrap(), content_type)
}

fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    (dir, data)
}

#[test]
fn the_demo_starts_and_serves_the_portal() {
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);

    let endpoints = read_endpoints(&data).unwrap();
    assert!(
        endpoints["portal"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        data.join("zaken.db").exists(),
        "the process layer has its own SQLite file"
    );
    assert!(
        demo.stdout().contains(&demo.portal),
        "the demo says where to go"
    );

    let (status, body, _) = get(&format!("{}/healthz", demo.portal), "*/*");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));

    let (status, page, content_type) = get(&format!("{}/", demo.portal), "text/html");
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(page.contains(r#"<html lang="nl">"#));
    assert!(
        page.contains("Testomgeving"),
        "demo pages carry the test banner"
    );
    assert!(page.contains(r##"href="#inhoud""##), "skip link");

    let (_, english, _) = get(&format!("{}/?lang=en", demo.portal), "text/html");
    assert!(english.contains(r#"<html lang="en">"#) && english.contains("Test environment"));

    let (status, css, content_type) = get(&format!("{}/static/loket.css", demo.portal), "text/css");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );
    assert!(css.contains(":focus-visible"));

    // Residents reach the portal from the internet, other organisations' portals a
    // processing log's read API: both keep the process's readiness and counters to
    // themselves; the operations address has them, for every service.
    let log_api = endpoints["logboek-rvig"].as_str().unwrap();
    for base in [demo.portal.as_str(), log_api] {
        for path in ["/metrics", "/readyz"] {
            let (status, _, _) = get(&format!("{base}{path}"), "*/*");
            assert_eq!(status, 404, "{path} at {base}");
        }
        let (status, _, _) = get(&format!("{base}/healthz"), "*/*");
        assert_eq!(status, 200, "/healthz at {base}");
    }
    // The log's API describes itself, to anyone.
    let (status, document, _) = get(
        &format!("{log_api}/lezenapi/v1/openapi.json"),
        "application/json",
    );
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&document).unwrap();
    assert!(document["paths"]["/proofs/consistency"]["get"].is_object());
    let operations = endpoints["operations"].as_str().unwrap().to_owned();
    let (status, ready, _) = get(&format!("{operations}/readyz"), "application/json");
    assert_eq!(status, 200, "{ready}");
    let ready: Value = serde_json::from_str(&ready).unwrap();
    for check in [
        "brp",
        "rdw",
        "zaken",
        "portaal",
        "werkplek",
        "logboek_gemeente",
        "logboek_rvig",
    ] {
        assert_eq!(ready["checks"][check], "ok", "{check}: {ready}");
    }
    let (status, metrics, _) = get(&format!("{operations}/metrics"), "*/*");
    assert_eq!(status, 200);
    assert!(metrics.contains("loket_build_info"));
    assert!(metrics.contains(r#"route="/",status="200""#));
    // Each organisation's processing log reports how long the exchange waits for it.
    for log in ["logboek_gemeente", "logboek_rvig"] {
        assert!(
            metrics.contains(&format!(
                r#"loket_logboek_append_wait_seconds_count{{log="{log}"}}"#
            )),
            "{log} reports its appends: {metrics}"
        );
    }
    // The exchange counts what it refuses, by where and why, for the operator.
    let outway = endpoints["outway"].as_str().unwrap();
    let refused = reqwest::blocking::Client::new()
        .post(format!(
            "{outway}/brp-personen/haalcentraal/api/brp/personen"
        ))
        .header("content-type", "application/json")
        .body(r#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999990007"],"fields":["naam"]}"#)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403, "no processing activity stated");
    let (_, metrics, _) = get(&format!("{operations}/metrics"), "*/*");
    assert!(
        metrics.contains(
            r#"loket_exchange_refusals_total{at="outway",code="ERROR_CODE_PROCESSING_ACTIVITY_MISSING"} 1"#
        ),
        "{metrics}"
    );
    // A BSN in a path reaches no log line (the process logs at debug here; stdout has
    // the demo's own example request for a synthetic resident).
    let in_path = reqwest::blocking::Client::new()
        .get(format!("{outway}/999990007/personen/999990007"))
        .send()
        .unwrap();
    assert_eq!(in_path.status(), 404);
    let masked = "/*********/personen/*********";
    let deadline = Instant::now() + Duration::from_secs(10);
    while !demo.stderr().contains(masked) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = demo.stderr();
    assert!(stderr.contains(masked), "the request's line, masked");
    let leaks: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("999990007"))
        .collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
}

#[test]
fn unknown_pages_get_a_friendly_page_or_a_problem() {
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    let (status, page, content_type) = get(
        &format!("{}/bestaat-niet", demo.portal),
        "text/html,*/*;q=0.8",
    );
    assert_eq!(
        (status, content_type.as_str()),
        (404, "text/html; charset=utf-8")
    );
    assert!(page.contains("Deze pagina bestaat niet"), "{page}");
    // Its language link works there too: nothing else would set the language.
    let (status, page, _) = get(
        &format!("{}/bestaat-niet?lang=en", demo.portal),
        "text/html,*/*;q=0.8",
    );
    assert_eq!(status, 404);
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(page.contains("href=\"/bestaat-niet?lang=nl\""), "{page}");
    let (status, body, content_type) = get(
        &format!("{}/bestaat-niet?lang=en", demo.portal),
        "application/json",
    );
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        problem["instance"], "/bestaat-niet",
        "the instance is the path alone"
    );
    let (status, body, content_type) =
        get(&format!("{}/bestaat-niet", demo.portal), "application/json");
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/problem+json")
    );
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "notFound");
    assert_eq!(problem["instance"], "/bestaat-niet");
    // A page's address with a parameter given twice: the friendly page says what was sent
    // is not right, and a program gets a problem naming the parameter.
    let twice = format!("{}/?lang=nl&lang=en", demo.portal);
    let (status, page, content_type) = get(&twice, "text/html,*/*;q=0.8");
    assert_eq!(
        (status, content_type.as_str()),
        (400, "text/html; charset=utf-8")
    );
    assert!(
        page.contains("in het adres of in het formulier staat iets dat niet klopt"),
        "{page}"
    );
    let (status, body, content_type) = get(&twice, "application/json");
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["invalidParams"][0]["name"], "lang", "{problem}");
}

#[test]
fn the_demo_stops_cleanly_and_starts_again_on_its_data() {
    let (_dir, data) = data_dir();
    let first = Running::demo(&data);
    assert!(first.stdout().contains("(created)"));
    assert!(first.terminate(), "SIGTERM is a clean exit");
    std::fs::remove_file(data.join("endpoints.json")).unwrap();
    let second = Running::demo(&data);
    assert!(second.stdout().contains("(reused)"));
}

/// The simulated DigiD lets anyone in as any resident: the demo does not start on a
/// directory holding data it did not make, `loket seed` does not fill one, and neither
/// writes anything there.
#[test]
fn the_demo_and_seed_refuse_a_directory_with_data_they_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zaken.db");
    std::fs::write(&store, b"not the demo's").unwrap();
    let path = dir.path().to_str().unwrap();
    for args in [
        &["demo", "--listen", "127.0.0.1:0", "--data", path][..],
        &["seed", "--data", path, "--persons", "10"][..],
    ] {
        let output = loket(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("already holds data") && stderr.contains("SYNTHETIC-DATA.txt"),
            "{args:?}: {stderr}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["zaken.db"], "{args:?}");
        assert_eq!(std::fs::read(&store).unwrap(), b"not the demo's");
    }
}

/// A name the demo does not know is refused with the names it does, before anything is
/// read or checked; so is a catalogue directory that is not there, without a made-up place.
#[test]
fn unknown_names_are_refused_with_the_known_ones() {
    let (_dir, data) = data_dir();
    let data = data.to_str().unwrap();
    for (args, expected) in [
        (
            &["log", "verify", "--data", data, "--log", "foo"][..],
            "no organisation called foo (the demo's: gemeente, rvig, rdw, duo, inkomen)",
        ),
        (
            &[
                "exchange",
                "request",
                "--data",
                data,
                "--as",
                "foo",
                "--service",
                "brp-personen",
                "--activity",
                "x",
            ][..],
            "--as foo: no such organisation (the demo's: gemeente, rvig, rdw, duo, inkomen)",
        ),
        (
            &["catalogue", "check", "--catalogue", "/nonexistent"][..],
            "loket: /nonexistent: ",
        ),
    ] {
        let output = loket(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn healthcheck_fails_when_nobody_answers() {
    assert!(!healthcheck("http://127.0.0.1:9").success());
}

#[test]
fn serve_without_a_config_file_says_so() {
    let output = Command::new(LOKET)
        .args(["serve", "--config", "/nonexistent/loket.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/loket.toml"));
}

fn write_config(dir: &Path, storage_line: &str) -> PathBuf {
    let path = dir.join("loket.toml");
    let toml = format!(
        "municipality = \"Gemeente Testdorp\"\n\nmunicipality_code = \"9999\"\nrsin = \"123456782\"\n[storage]\n{storage_line}\n\n[portal]\nlisten = \"127.0.0.1:0\"\n"
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// `serve` does not write endpoints.json (production has fixed addresses), so the test
/// gives it a fixed free port through the environment, which overrides the file.
fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` free ports, all different: each is held until all are taken (ports asked one at a
/// time may come back the same, as two of this file's services once did).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    held.map(|listener| listener.local_addr().unwrap().port())
}

fn serve_and_wait(config: &Path, env: &[(&str, &str)]) -> (Running, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut all_env = env.to_vec();
    all_env.push(("LOKET_PORTAL__LISTEN", &listen));
    let base = format!("http://{listen}");
    let running = Running::on_port(
        &["serve", "--config", config.to_str().unwrap()],
        &all_env,
        &base,
    );
    (running, base)
}

/// `loket register brp` on a free port, with its SQLite database in `data`.
fn register_on_free_port(data: &Path) -> Running {
    named_register_on_free_port("brp", data)
}

fn named_register_on_free_port(name: &str, data: &Path) -> Running {
    let listen = format!("127.0.0.1:{}", free_port());
    let args = [
        "register",
        name,
        "--listen",
        &listen,
        "--data",
        data.to_str().unwrap(),
    ];
    Running::on_port(&args, &[], &format!("http://{listen}"))
}

#[test]
fn serve_runs_on_sqlite_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = write_config(dir.path(), &format!("url = \"sqlite:{}\"", store.display()));
    let (running, portal) = serve_and_wait(&config, &[]);
    assert!(store.join("zaken.db").exists());
    let (status, page, _) = get(&format!("{portal}/"), "text/html");
    assert_eq!(status, 200);
    assert!(page.contains("Gemeente Testdorp"));
    assert!(
        !page.contains("Testomgeving"),
        "production shows no test banner"
    );
    // Production logs are JSON lines.
    let first_line = running
        .stderr()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        serde_json::from_str::<Value>(&first_line).is_ok(),
        "not JSON: {first_line}"
    );
}

/// A top-level key (`municipality`) set through its variable (`LOKET_MUNICIPALITY`) wins
/// over the file, whatever the case the variable's name has; the same key as a secret
/// file (`LOKET_MUNICIPALITY_FILE`) too.
#[test]
fn serve_takes_top_level_settings_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = write_config(dir.path(), &format!("url = \"sqlite:{}\"", store.display()));
    let (_running, portal) =
        serve_and_wait(&config, &[("LOKET_MUNICIPALITY", "Gemeente Proefstad")]);
    let (status, page, _) = get(&format!("{portal}/"), "text/html");
    assert_eq!(status, 200);
    assert!(page.contains("Gemeente Proefstad"), "{page}");
    assert!(!page.contains("Testdorp"), "the file's name must give way");

    let name_file = dir.path().join("naam");
    std::fs::write(&name_file, "Gemeente Zeedorp\n").unwrap();
    let (_running, portal) = serve_and_wait(
        &config,
        &[("LOKET_MUNICIPALITY_FILE", name_file.to_str().unwrap())],
    );
    let (_, page, _) = get(&format!("{portal}/"), "text/html");
    assert!(page.contains("Gemeente Zeedorp"), "{page}");
}

#[test]
fn serve_offers_the_zgw_api_to_the_clients_in_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let secret = "een-geheim-van-minstens-32-tekens-lang";
    std::fs::write(dir.path().join("zgw-secret"), format!("{secret}\n")).unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let config = write_config(dir.path(), &format!("url = \"sqlite:{}\"", store.display()));
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[zaken_api]\nlisten = \"{api}\"\n\n[[zaken_api.clients]]\nclient_id = \"formulieren\"\nsecret_file = \"{}\"\n[zaken_api.clients.autorisaties]\nbewonersparkeervergunning = [\"zaken.lezen\"]\n",
        dir.path().join("zgw-secret").display()
    ));
    std::fs::write(&config, toml).unwrap();
    let (_running, _portal) = serve_and_wait(&config, &[]);
    let url = format!(
        "http://{api}/zaken/api/v1/zaken?rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn=999990007"
    );
    let client = reqwest::blocking::Client::new();
    assert_eq!(client.get(&url).send().unwrap().status(), 401);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token =
        loket_zaken::zgw_auth::sign("formulieren", secret, "test", i64::try_from(now).unwrap());
    let answer = client.get(&url).bearer_auth(token).send().unwrap();
    assert_eq!(answer.status(), 200);
    let page: Value = answer.json().unwrap();
    assert_eq!(page["count"], 0, "{page}");
}

#[tokio::test]
#[cfg_attr(
    not(loket_postgres),
    ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL"
)]
async fn serve_runs_on_postgres_with_the_url_from_a_secret_file() {
    let storage = loket_store::testing::TestStorage::postgres().await.unwrap();
    let loket_store::StorageUrl::Postgres(url) = &storage.url else {
        unreachable!()
    };
    // Trust authentication ignores the password, so it can stand in for a real secret.
    let with_password = url.expose().replacen(
        "postgres://postgres@",
        "postgres://postgres:geheim-wachtwoord@",
        1,
    );
    assert!(
        with_password.contains("geheim-wachtwoord"),
        "test URL should name user postgres: {}",
        url.expose()
    );
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("database-url");
    std::fs::write(&secret, format!("{with_password}\n")).unwrap();
    let config = write_config(dir.path(), "url = \"sqlite:/wrong/place\"");
    let secret_env = secret.to_str().unwrap().to_owned();

    let running = tokio::task::spawn_blocking(move || {
        // The environment replaces the file's storage.url by the secret file's contents.
        // Readiness is at the operator's address, for every service of the process.
        let operations = format!("127.0.0.1:{}", free_port());
        let (running, _portal) = serve_and_wait(
            &config,
            &[
                ("LOKET_STORAGE__URL_FILE", &secret_env),
                ("LOKET_OPERATIONS__LISTEN", &operations),
            ],
        );
        let (status, body, _) = get(&format!("http://{operations}/readyz"), "application/json");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""portaal":"ok""#), "{body}");
        running
    })
    .await
    .unwrap();
    assert!(
        !running.stderr().contains("geheim-wachtwoord"),
        "the database password must never be logged"
    );
    drop(running);
    storage.teardown().await;
}

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(url)
        .json(body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

#[test]
fn the_demo_runs_a_seeded_brp_on_its_own_port() {
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    assert!(
        data.join("brp.db").exists(),
        "the BRP has its own database file"
    );
    let brp = read_endpoints(&data).unwrap()["brp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(brp, demo.portal, "the register has its own port");
    assert!(healthcheck(&brp).success());
    let query = serde_json::json!({
        "type": "RaadpleegMetBurgerservicenummer",
        "burgerservicenummer": ["999990007"],
        "fields": ["naam.volledigeNaam", "gemeenteVanInschrijving.code"]
    });
    let (status, answer) = post_json(&format!("{brp}/haalcentraal/api/brp/personen"), &query);
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        serde_json::json!({"type": "RaadpleegMetBurgerservicenummer", "personen": [
            {"naam": {"volledigeNaam": "Sanne de Vries"}, "gemeenteVanInschrijving": {"code": "9999"}}
        ]})
    );
}

#[test]
fn a_register_runs_standalone() {
    let (_dir, data) = data_dir();
    let register = register_on_free_port(&data);
    assert!(data.join("brp.db").exists());
    let query = serde_json::json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": ["999990007"], "fields": ["naam"]});
    let (status, answer) = post_json(
        &format!("{}/haalcentraal/api/brp/personen", register.portal),
        &query,
    );
    assert_eq!(
        (status, answer["personen"].as_array().unwrap().len()),
        (200, 0),
        "a standalone register starts empty"
    );
}

#[test]
fn personas_are_listed_with_valid_bsns() {
    let output = Command::new(LOKET)
        .args(["personas", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let personas: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(personas.len() >= 7);
    for persona in &personas {
        let bsn = persona["bsn"].as_str().unwrap();
        assert!(
            loket_core::Bsn::parse(bsn).is_ok() && bsn.starts_with("9999"),
            "{bsn}"
        );
        assert!(!persona["purpose_en"].as_str().unwrap().is_empty());
    }
}

#[test]
fn seed_fills_an_empty_brp_and_refuses_a_full_one() {
    let (_dir, data) = data_dir();
    let seed = |persons: &str| {
        Command::new(LOKET)
            .args([
                "seed",
                "--data",
                data.to_str().unwrap(),
                "--persons",
                persons,
                "--seed",
                "7",
            ])
            .output()
            .unwrap()
    };
    let first = seed("500");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let personas = 10; // the persona households: seven personas and their family members
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains(&format!("Loaded {} persons", 500 + personas))
    );
    let progress = String::from_utf8_lossy(&first.stderr);
    assert!(
        progress.contains("seeded 500 of 500 residents (100%)"),
        "plain progress lines when not on a terminal, counting what was asked: {progress}"
    );

    let again = seed("10");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("the brp register already holds 510 items"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    for file in ["reisdocumenten.db", "rdw.db", "duo.db", "inkomen.db"] {
        assert!(data.join(file).exists(), "{file}: every register is seeded");
    }

    let register = register_on_free_port(&data);
    let query = serde_json::json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "9904GH", "huisnummer": 7, "fields": ["naam.voornamen"]});
    let (status, answer) = post_json(
        &format!("{}/haalcentraal/api/brp/personen", register.portal),
        &query,
    );
    assert_eq!(status, 200);
    assert_eq!(
        answer["personen"].as_array().unwrap().len(),
        3,
        "Priya and her two children: {answer}"
    );
}

/// Every mutation in a feed, page by page.
fn read_feed(url: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut vanaf = 1;
    loop {
        let page = fetch_json(&format!("{url}?vanaf={vanaf}&aantal=1000"));
        let mutaties = page["mutaties"].as_array().unwrap();
        if mutaties.is_empty() {
            return all;
        }
        all.extend(mutaties.iter().cloned());
        vanaf = page["volgende"].as_u64().unwrap();
    }
}

fn fetch_json(url: &str) -> Value {
    let (status, body, _) = get(url, "application/json");
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Every register in the demo on its own port, with the personas' stories in it, its
/// change feed and its OpenAPI document; the feed reads the same after a restart.
#[test]
fn the_demo_runs_every_register_with_the_personas_stories() {
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    let endpoints = read_endpoints(&data).unwrap();
    let url = |name: &str| endpoints[name].as_str().unwrap().to_owned();
    let mut ports = std::collections::HashSet::new();
    for name in ["brp", "reisdocumenten", "rdw", "duo", "inkomen", "portal"] {
        assert!(ports.insert(url(name)), "{name} has its own port");
        assert!(healthcheck(&url(name)).success(), "{name} is ready");
        assert!(data.join(format!("{name}.db")).exists() || name == "portal");
    }
    let today = time::OffsetDateTime::now_utc().date();
    let date = |value: &Value| {
        time::Date::parse(
            value.as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap()
    };

    // Mohammed's passport expires within two months.
    let (_, answer) = post_json(
        &format!(
            "{}/haalcentraal/api/reisdocumenten/reisdocumenten",
            url("reisdocumenten")
        ),
        &serde_json::json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "999990019", "fields": ["soort.code", "datumEindeGeldigheid.datum"]}),
    );
    let passport = answer["reisdocumenten"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["soort"]["code"] == "PN")
        .unwrap();
    let expires = date(&passport["datumEindeGeldigheid"]["datum"]);
    assert!(
        expires > today && (expires - today).whole_days() < 61,
        "{expires}"
    );

    // Kees's identity card is reported missing, and the feed says so.
    let (_, answer) = post_json(
        &format!(
            "{}/haalcentraal/api/reisdocumenten/v2/reisdocumenten",
            url("reisdocumenten")
        ),
        &serde_json::json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "999990093", "fields": ["soort.code", "inhoudingOfVermissing.aanduiding.code"]}),
    );
    assert!(
        answer["reisdocumenten"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["soort"]["code"] == "NI"
                && d["inhoudingOfVermissing"]["aanduiding"]["code"] == "V"),
        "{answer}"
    );

    // Sanne's car is registered to her.
    let (_, answer) = post_json(
        &format!("{}/rdw/api/v1/voertuigen", url("rdw")),
        &serde_json::json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "999990007", "fields": ["kenteken", "merk"]}),
    );
    assert_eq!(
        answer["voertuigen"],
        serde_json::json!([{"kenteken": "34GBV7", "merk": "VOLKSWAGEN"}])
    );

    // Lotte's study ends this month.
    let (_, answer) = post_json(
        &format!("{}/duo/api/v1/inschrijvingen", url("duo")),
        &serde_json::json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "999990020", "fields": ["datumEindeVerwacht.datum"]}),
    );
    let ends = date(&answer["inschrijvingen"][0]["datumEindeVerwacht"]["datum"]);
    assert_eq!((ends.year(), ends.month()), (today.year(), today.month()));

    // Priya is in the lowest income class and has coming payments.
    let (_, answer) = post_json(
        &format!("{}/inkomen/api/v1/inkomenssituaties", url("inkomen")),
        &serde_json::json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": "999990032", "fields": ["inkomensklasse.code", "uitkeringen.betalingen"]}),
    );
    assert_eq!(
        answer["inkomenssituaties"][0]["inkomensklasse"]["code"],
        "T110"
    );
    assert_eq!(
        answer["inkomenssituaties"][0]["uitkeringen"][0]["betalingen"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The feeds hold the recent history, numbered from 1 without gaps.
    let mutaties = read_feed(&format!("{}/haalcentraal/api/brp/v2/mutaties", url("brp")));
    assert!(
        mutaties
            .iter()
            .any(|m| m["sleutel"] == "999990068" && m["soort"] == "ingeschreven"),
        "Bram moved in"
    );
    for (index, mutatie) in mutaties.iter().enumerate() {
        assert_eq!(mutatie["volgnummer"].as_u64().unwrap(), index as u64 + 1);
    }
    let reis_feed = read_feed(&format!(
        "{}/haalcentraal/api/reisdocumenten/v2/mutaties",
        url("reisdocumenten")
    ));
    assert!(
        reis_feed
            .iter()
            .any(|m| m["burgerservicenummer"] == "999990093" && m["soort"] == "vermissingGemeld")
    );

    for (name, path) in [
        ("brp", "/personen"),
        ("reisdocumenten", "/reisdocumenten"),
        ("rdw", "/voertuigen"),
        ("duo", "/inschrijvingen"),
        ("inkomen", "/inkomenssituaties"),
    ] {
        let document = fetch_json(&format!("{}/openapi.json", url(name)));
        assert!(document["paths"][path]["post"].is_object(), "{name}");
    }

    // After a restart the feed is the same: nothing re-seeded, nothing lost.
    assert!(demo.terminate());
    std::fs::remove_file(data.join("endpoints.json")).unwrap();
    let _again = Running::demo(&data);
    let endpoints = read_endpoints(&data).unwrap();
    let reis_feed_url = format!(
        "{}/haalcentraal/api/reisdocumenten/v2/mutaties",
        endpoints["reisdocumenten"].as_str().unwrap()
    );
    assert_eq!(read_feed(&reis_feed_url), reis_feed);
}

const PARKEREN: &str = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
/// RvIG's own register of processing activities (the demo's), and the activity it
/// provides BRP data under.
const RVIG_ACTIVITIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/verwerkingsactiviteiten-rvig.toml"
);
const RVIG_BRP: &str = "https://rvig.example/verwerkingen/verstrekking-brp";

/// The municipality asks the BRP and the RDW for Sanne through its outway and the
/// providers' inways; the requests show up in Sanne's inzage with purpose and legal
/// basis; a request outside the grant is refused; the logs verify after a restart.
#[test]
fn the_municipality_asks_through_the_exchange_and_the_resident_can_see_it() {
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    let endpoints = read_endpoints(&data).unwrap();
    let url = |name: &str| endpoints[name].as_str().unwrap().to_owned();
    assert!(url("inway-rvig").starts_with("https://"));
    let client = reqwest::blocking::Client::new();
    let ask = |service_path: &str, activity: &str, body: Value| {
        client
            .post(format!("{}/{service_path}", url("outway")))
            .header("fsc-processing-activity", activity)
            .json(&body)
            .send()
            .unwrap()
    };
    let sanne = serde_json::json!({
        "type": "RaadpleegMetBurgerservicenummer",
        "burgerservicenummer": ["999990007"],
        "fields": ["naam.voornamen", "verblijfplaats.verblijfadres.postcode"]
    });
    let response = ask(
        "brp-personen/haalcentraal/api/brp/personen",
        PARKEREN,
        sanne.clone(),
    );
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["personen"][0]["naam"]["voornamen"], "Sanne");
    assert!(answer["personen"][0].get("burgerservicenummer").is_none());

    let cars = serde_json::json!({
        "type": "ZoekMetBurgerservicenummer",
        "burgerservicenummer": "999990007",
        "fields": ["kenteken", "merk"]
    });
    let response = ask("rdw-voertuigen/rdw/api/v1/voertuigen", PARKEREN, cars);
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["voertuigen"][0]["kenteken"], "34GBV7", "{answer}");

    let mut nationality = sanne;
    nationality["fields"] = serde_json::json!(["nationaliteiten"]);
    let refused = ask(
        "brp-personen/haalcentraal/api/brp/personen",
        PARKEREN,
        nationality,
    );
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["fsc-error-code"],
        "ERROR_CODE_FIELD_NOT_GRANTED"
    );

    // Sanne's inzage (as the portal reads it): who used her data, and why.
    let inzage = |log: &str| read_as_portal(&client, &data, log, "999990007");
    let gemeente = inzage("gemeente");
    let records = gemeente["processingActivities"].as_array().unwrap();
    let services = services_in(&gemeente);
    assert!(
        services.contains("brp-personen") && services.contains("rdw-voertuigen"),
        "{services:?}"
    );
    let brp = records
        .iter()
        .find(|r| r["attributes"]["loket.exchange"]["serviceName"] == "brp-personen")
        .unwrap();
    assert_eq!(
        brp["verwerkingsactiviteit"]["naam"]["nl"],
        "Aanvraag bewonersparkeervergunning behandelen"
    );
    assert_eq!(
        brp["verwerkingsactiviteit"]["doel"]["nl"],
        "Nagaan of u recht hebt op een parkeervergunning en wat die kost"
    );
    assert!(
        brp["verwerkingsactiviteit"]["grondslag"]["nl"]
            .as_str()
            .unwrap()
            .contains("Parkeerverordening")
    );
    // RvIG logged the request about Sanne before it reached the BRP, and its answer while
    // the answer went back (so that one may take a moment).
    let mut rvig = inzage("rvig");
    for _ in 0..100 {
        if rvig["processingActivities"].as_array().unwrap().len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        rvig = inzage("rvig");
    }
    let names: Vec<&str> = rvig["processingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["brp-personen antwoord", "brp-personen verzoek"],
        "RvIG logged the request and the answer about Sanne"
    );
    // Under RvIG's own activity, described and kept by its own register, with the
    // municipality's stated purpose beside it.
    for record in rvig["processingActivities"].as_array().unwrap() {
        let attributes = &record["attributes"];
        assert_eq!(attributes["dpl.core.processing_activity_id"], RVIG_BRP);
        assert_eq!(
            attributes["loket.exchange"]["statedProcessingActivityId"],
            PARKEREN
        );
        assert_eq!(
            record["verwerkingsactiviteit"]["naam"]["nl"],
            "Gegevens uit de BRP verstrekken aan overheidsorganisaties"
        );
        // RvIG's retention (1826 days), not the municipality's (730) for parking.
        let end_s = record["endTime"].as_i64().unwrap().div_euclid(1000);
        assert_eq!(
            record["integrity"]["expiresAt"].as_i64().unwrap() - end_s,
            1826 * 86_400,
            "{record}"
        );
    }

    // A new grant through the CLI, approved by RvIG, is in force within seconds.
    const ATTENDEREN: &str = "https://voorbeeldstad.example/verwerkingen/attenderen";
    let names = serde_json::json!({
        "type": "RaadpleegMetBurgerservicenummer",
        "burgerservicenummer": ["999990007"],
        "fields": ["naam.voornamen"]
    });
    let before = ask(
        "brp-personen/haalcentraal/api/brp/personen",
        ATTENDEREN,
        names.clone(),
    );
    assert_eq!(
        before.headers()["fsc-error-code"],
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED"
    );
    let cli = |args: &[&str]| {
        let output = Command::new(LOKET)
            .args(args)
            .args(["--data", data.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let requested = cli(&[
        "exchange",
        "request",
        "--as",
        "gemeente",
        "--service",
        "brp-personen",
        "--activity",
        ATTENDEREN,
        "--field",
        "naam",
    ]);
    let hash = requested.lines().next().unwrap().to_owned();
    // A hash the shell cut short (`$1` read as a variable) is refused with how to quote it.
    let cut = Command::new(LOKET)
        .args(["exchange", "approve", &hash[4..], "--as", "rvig"])
        .args(["--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!cut.status.success());
    assert!(
        String::from_utf8_lossy(&cut.stderr).contains("quote it: '$1$1$…'"),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    cli(&["exchange", "approve", &hash, "--as", "rvig"]);
    // Asked for again only after a renewal with a new key: this one names the key the
    // municipality's outway has.
    let again = Command::new(LOKET)
        .args(["exchange", "request-again", &hash, "--as", "gemeente"])
        .args(["--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("under another key"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = ask(
            "brp-personen/haalcentraal/api/brp/personen",
            ATTENDEREN,
            names.clone(),
        )
        .status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new grant was not in force after 10 s ({status})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let management: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("keys/management-tokens.json")).unwrap(),
    )
    .unwrap();
    let contracts: Value = client
        .get(format!("{}/api/v1/contracts", url("exchange-manager")))
        .bearer_auth(management["gemeente"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        contracts["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["hash"] == hash.as_str() && c["state"] == "active")
    );

    // A provider publishes a service from the command line; the directory approves it,
    // the provider revokes it, and `list` shows each state.
    let state_of = |hash: &str| -> Value {
        let listed: Value = serde_json::from_str(&cli(&["exchange", "list", "--json"])).unwrap();
        listed["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["hash"] == hash)
            .map(|c| c["state"].clone())
            .unwrap_or(Value::Null)
    };
    let published = cli(&[
        "exchange",
        "publish",
        "--as",
        "rdw",
        "--service",
        "rdw-kentekens",
        "--inway",
        "https://127.0.0.1:9",
    ]);
    let publication = published.lines().next().unwrap().to_owned();
    let listed_service = || -> Option<Value> {
        let listed: Value = serde_json::from_str(&cli(&["exchange", "list", "--json"])).unwrap();
        listed["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "rdw-kentekens")
            .cloned()
    };
    assert_eq!(state_of(&publication), "proposed");
    assert_eq!(
        listed_service(),
        None,
        "not in the directory before it is accepted"
    );
    cli(&["exchange", "approve", &publication, "--as", "gemeente"]);
    assert_eq!(state_of(&publication), "active");
    assert_eq!(
        listed_service().unwrap()["inway"],
        "https://127.0.0.1:9",
        "in the directory once accepted"
    );
    cli(&["exchange", "revoke", &publication, "--as", "rdw"]);
    assert_eq!(state_of(&publication), "revoked");
    // A name outways cannot route by, or an inway they cannot reach over mutual TLS, is
    // refused with what is wrong.
    for (service, inway, why) in [
        ("RDW Kentekens", "https://127.0.0.1:9", "service name"),
        (
            "rdw-apk",
            "http://127.0.0.1:9",
            "the inway is not an https://",
        ),
    ] {
        let refused = Command::new(LOKET)
            .args(["exchange", "publish", "--as", "rdw", "--service", service])
            .args(["--inway", inway, "--data", data.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(why),
            "{service} {inway}"
        );
    }
    // So is a validity the calendar cannot hold, or none at all.
    for days in ["0", "-1", "65536", "99999999999999999"] {
        let refused = Command::new(LOKET)
            .args(["exchange", "publish", "--as", "rdw", "--service", "rdw-apk"])
            .args(["--inway", "https://127.0.0.1:9", &format!("--days={days}")])
            .args(["--data", data.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{days}");
        let error = String::from_utf8_lossy(&refused.stderr);
        assert!(error.contains("--days"), "{days}: {error}");
    }

    // The logs hold pseudonyms only, and verify after a restart.
    assert!(demo.terminate());
    for file in [
        "logboek_gemeente.db",
        "logboek_gemeente.db-wal",
        "logboek_rvig.db",
    ] {
        let Ok(raw) = std::fs::read(data.join(file)) else {
            continue;
        };
        assert!(
            !raw.windows(9).any(|w| w == b"999990007"),
            "no plaintext BSN in {file}"
        );
    }
    let verify = Command::new(LOKET)
        .args(["log", "verify", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        report.contains("logboek_gemeente") && report.contains(" ok: "),
        "{report}"
    );

    // Someone with write access to the databases edits a record in one log and removes
    // the newest head from the other: verify names each.
    let tamper = |log: &str, sql: &'static str| {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            use loket_store::sqlx::{self, ConnectOptions};
            let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(data.join(format!("{log}.db")))
                .connect()
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut connection).await.unwrap();
        });
    };
    let verify_one = |organisation: &str| {
        let tampered = Command::new(LOKET)
            .args(["log", "verify", "--data", data.to_str().unwrap()])
            .args(["--log", organisation])
            .output()
            .unwrap();
        assert!(!tampered.status.success());
        String::from_utf8_lossy(&tampered.stderr).into_owned()
    };
    tamper(
        "logboek_gemeente",
        "UPDATE records SET body = replace(body, 'traceId', 'traceID') WHERE idx = 2",
    );
    let error = verify_one("gemeente");
    assert!(error.contains("record 2 was modified"), "{error}");
    tamper(
        "logboek_rvig",
        "DELETE FROM tree_heads WHERE size = (SELECT MAX(size) FROM tree_heads)",
    );
    let error = verify_one("rvig");
    assert!(
        error.contains("the database no longer holds it") && error.contains("head file"),
        "{error}"
    );
    // A log whose database was removed is not passed over.
    std::fs::remove_file(data.join("logboek_rdw.db")).unwrap();
    let error = verify_one("rdw");
    assert!(
        error.contains("logboek_rdw") && error.contains("no database"),
        "{error}"
    );
}

/// A demo organisation's log (`gemeente`, `rvig`, …) asked about `bsn` as the portal asks:
/// with its token and an assertion signed with its key, both from the demo's keys dir.
fn read_as_portal(
    client: &reqwest::blocking::Client,
    data: &Path,
    organisation: &str,
    bsn: &str,
) -> Value {
    let keys = data.join("keys");
    let secrets = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(keys.join(file)).unwrap()).unwrap()
    };
    let portal =
        loket_core::resident_assertion::AssertionSigner::from_secret(&loket_core::Secret::new(
            secrets("portaal-inzagesleutel.json")["inzage"]
                .as_str()
                .unwrap()
                .to_owned(),
        ))
        .unwrap();
    let log_key = loket_logboek::LogKeys::load(&keys, &format!("logboek_{organisation}"))
        .unwrap()
        .verifying_key();
    let assertion = portal.sign(
        &loket_core::Bsn::parse(bsn).unwrap(),
        &log_key.0,
        time::OffsetDateTime::now_utc(),
    );
    let endpoints = read_endpoints(data).unwrap();
    client
        .post(format!(
            "{}/lezenapi/v1/processing-activities",
            endpoints[format!("logboek-{organisation}")]
                .as_str()
                .unwrap()
        ))
        .bearer_auth(secrets("inzage-tokens.json")["portal"].as_str().unwrap())
        .header(loket_core::resident_assertion::HEADER, assertion)
        .json(&serde_json::json!({
            "dpl.core.data_subject_id": bsn,
            "dpl.core.data_subject_id_type": "BSN",
        }))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The exchange services named in an inzage answer's records.
fn services_in(answer: &Value) -> BTreeSet<&str> {
    answer["processingActivities"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|r| {
            r["attributes"]["loket.exchange"]["serviceName"]
                .as_str()
                .unwrap()
        })
        .collect()
}

const MIJN_GEGEVENS: &str = "https://voorbeeldstad.example/verwerkingen/mijn-gegevens";

/// The `[exchange]` part of a production configuration for one organisation of the demo
/// PKI in `pki`, with a directory shared in `directory`.
fn exchange_config(name: &str, display: &str, pki: &Path, directory: &Path, rest: &str) -> String {
    format!(
        "[exchange]\nname = \"{display}\"\ncertificate_file = \"{pki}/{name}.pem\"\nprivate_key_file = \"{pki}/{name}.key\"\ntrust_anchors_file = \"{pki}/ca.pem\"\ndirectory_url = \"sqlite:{directory}\"\ndirectory_peer = \"00000001001234567000\"\n{rest}",
        pki = pki.display(),
        directory = directory.display(),
    )
}

/// A management API call as `token`'s organisation; the status and the answer.
fn manage(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

/// RvIG's data directory at `data`, its BRP seeded with ten residents.
fn seeded_brp(data: &Path) -> PathBuf {
    let seeded = loket(&["seed", "--data", data.to_str().unwrap(), "--persons", "10"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    data.to_path_buf()
}

/// Accept contract `hash` through the management API at `host` as `token`'s
/// organisation, once that process has seen it (each sees another's changes within its
/// 2 s reload); the contract as the answer shows it.
fn accept_when_seen(
    client: &reqwest::blocking::Client,
    host: &str,
    token: &str,
    hash: &str,
) -> Value {
    let url = format!("http://{host}/api/v1/contracts/{hash}/accept");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, answer) = manage(client, &url, token, &Value::Null);
        if status == 200 {
            return answer;
        }
        assert!(
            status == 404 && Instant::now() < deadline,
            "{status} {answer}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sanne's first names from the BRP, through the outway at `outway` for `activity`.
fn ask_for_sanne(
    client: &reqwest::blocking::Client,
    outway: &str,
    activity: &str,
) -> reqwest::blocking::Response {
    client
        .post(format!(
            "http://{outway}/brp-personen/haalcentraal/api/brp/personen"
        ))
        .header("fsc-processing-activity", activity)
        .json(&serde_json::json!({
            "type": "RaadpleegMetBurgerservicenummer",
            "burgerservicenummer": ["999990007"],
            "fields": ["naam.voornamen"]
        }))
        .send()
        .unwrap()
}

/// Asks until the outway answers with Sanne's data (a grant approved elsewhere is in force
/// after the next reload).
fn answered_within_15_s(client: &reqwest::blocking::Client, outway: &str, activity: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let answer: Value = loop {
        let response = ask_for_sanne(client, outway, activity);
        if response.status() == 200 {
            break response.json().unwrap();
        }
        assert!(Instant::now() < deadline, "{:?}", response.text());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        answer["personen"][0]["naam"]["voornamen"], "Sanne",
        "{answer}"
    );
}

/// Two organisations, each its own `loket serve` with its certificate from configuration:
/// RvIG publishes the BRP at its inway, the municipality asks for it through its outway
/// under a contract made through both management APIs, and both logs hold the request.
#[test]
fn serve_runs_an_organisation_in_the_exchange_from_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pki = root.join("pki");
    let directory = root.join("directory");
    assert!(
        loket(&["pki", "init", "--dir", pki.to_str().unwrap()])
            .status
            .success()
    );
    let rvig_data = seeded_brp(&root.join("rvig"));
    let [
        brp,
        inway,
        rvig_manager,
        outway,
        log,
        gemeente_manager,
        gemeente_portal,
        rvig_log,
    ] = free_ports::<8>().map(|port| format!("127.0.0.1:{port}"));
    let portal_token = "p".repeat(32);
    let rvig_token = "r".repeat(32);
    let gemeente_token = "g".repeat(32);
    let fg_token = "f".repeat(32);
    let inzage_key = "i".repeat(40);
    // The municipality's portal signs which resident asks with a key made from its
    // inzage_key; RvIG's log accepts only what that key signed.
    let gemeente = root.join("gemeente.toml");
    let gemeente_data = root.join("gemeente");
    let gemeente_config = |logboeken: &str| {
        format!(
            "municipality = \"Gemeente Voorbeeldstad\"\nmunicipality_code = \"9999\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:{data}\"\n[portal]\nlisten = \"{gemeente_portal}\"\n\
             inzage_key = \"{inzage_key}\"\n{logboeken}{exchange}",
            data = gemeente_data.display(),
            exchange = exchange_config(
                "gemeente",
                "Gemeente Voorbeeldstad",
                &pki,
                &directory,
                &format!(
                    "[exchange.log]\nkeys = \"{keys}\"\nlisten = \"{log}\"\n[[exchange.log.readers]]\nname = \"fg\"\nrole = \"privacy-officer\"\ntoken = \"{fg_token}\"\n[exchange.outway]\nlisten = \"{outway}\"\n[exchange.management]\nlisten = \"{gemeente_manager}\"\ntoken = \"{gemeente_token}\"\n",
                    keys = root.join("gemeente-keys").display()
                )
            )
        )
    };
    let logboek = |rvig_key: &str| {
        format!(
            "[[portal.logboeken]]\norganisatie = \"RvIG\"\nurl = \"http://{rvig_log}\"\ntoken = \"{portal_token}\"\npublic_key = \"{rvig_key}\"\n"
        )
    };
    std::fs::write(&gemeente, gemeente_config("")).unwrap();
    let printed = loket(&[
        "portal",
        "public-key",
        "--config",
        gemeente.to_str().unwrap(),
    ]);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let portal_key = String::from_utf8(printed.stdout).unwrap().trim().to_owned();
    let rvig = root.join("rvig.toml");
    std::fs::write(
        &rvig,
        format!(
            "municipality = \"RvIG\"\nmunicipality_code = \"9999\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:{data}\"\n[brp]\nlisten = \"{brp}\"\n{exchange}",
            data = rvig_data.display(),
            exchange = exchange_config(
                "rvig",
                "Rijksdienst voor Identiteitsgegevens",
                &pki,
                &directory,
                &format!(
                    "activities_file = \"{RVIG_ACTIVITIES}\"\n[exchange.log]\nkeys = \"{keys}\"\nlisten = \"{rvig_log}\"\n[[exchange.log.readers]]\nname = \"gemeente-portal\"\nrole = \"resident\"\ntoken = \"{portal_token}\"\nportal_key = \"{portal_key}\"\n[exchange.inway]\nlisten = \"{inway}\"\n[exchange.inway.services]\nbrp-personen = {{ register = \"http://{brp}\", verwerkingsactiviteit = \"{RVIG_BRP}\" }}\n[exchange.management]\nlisten = \"{rvig_manager}\"\ntoken = \"{rvig_token}\"\n",
                    keys = root.join("rvig-keys").display()
                )
            )
        ),
    )
    .unwrap();
    let config_arg = |path: &Path| path.to_str().unwrap().to_owned();
    // RvIG serves no portal; its management API says when it is ready.
    let rvig_running = Running::on_port(
        &["serve", "--config", &config_arg(&rvig)],
        &[],
        &format!("http://{rvig_manager}"),
    );
    // Log lines are written by a thread of their own a few milliseconds later.
    let deadline = Instant::now() + Duration::from_secs(5);
    let started = loop {
        let started = rvig_running.stderr();
        if started.contains(r#""service":"inway""#) || Instant::now() > deadline {
            break started;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(started.contains(r#""service":"inway""#), "{started}");
    assert!(!started.contains(r#""service":"portal""#), "{started}");
    // RvIG's log made its keys at its first start; its public key goes to the municipality's
    // portal, which reads residents' records there too.
    let printed = loket(&["log", "public-key", "--config", &config_arg(&rvig)]);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let rvig_key = String::from_utf8(printed.stdout).unwrap().trim().to_owned();
    std::fs::write(&gemeente, gemeente_config(&logboek(&rvig_key))).unwrap();
    let running = Running::on_port(
        &["serve", "--config", &config_arg(&gemeente)],
        &[],
        &format!("http://{gemeente_portal}"),
    );

    let client = reqwest::blocking::Client::new();
    let api = |host: &str, path: &str| format!("http://{host}/api/v1/{path}");
    let (status, published) = manage(
        &client,
        &api(&rvig_manager, "services"),
        &rvig_token,
        &serde_json::json!({
            "name": "brp-personen",
            "inway": format!("https://{inway}"),
            "openapi": "/openapi.json",
            "subjectField": "burgerservicenummer"
        }),
    );
    assert_eq!(status, 201, "{published}");
    // The municipality keeps the directory: the publication counts once it accepts.
    let accept = |host: &str, token: &str, hash: &str| accept_when_seen(&client, host, token, hash);
    let accepted = accept(
        &gemeente_manager,
        &gemeente_token,
        published["contractHash"].as_str().unwrap(),
    );
    assert_eq!(accepted["state"], "active", "{accepted}");
    let (status, requested) = manage(
        &client,
        &api(&gemeente_manager, "contracts"),
        &gemeente_token,
        &serde_json::json!({"service": "brp-personen", "processingActivities": [MIJN_GEGEVENS]}),
    );
    assert_eq!(status, 201, "{requested}");
    let accepted = accept(
        &rvig_manager,
        &rvig_token,
        requested["contractHash"].as_str().unwrap(),
    );
    assert_eq!(accepted["state"], "active", "{accepted}");

    let ask = |activity: &str| ask_for_sanne(&client, &outway, activity);
    answered_within_15_s(&client, &outway, MIJN_GEGEVENS);
    // RvIG's operational log tells its inway's requests from its BRP's, with durations.
    let deadline = Instant::now() + Duration::from_secs(5);
    let handled_by = |service: &str| {
        rvig_running.stderr().lines().any(|line| {
            line.contains(r#""message":"handled""#)
                && line.contains(&format!(r#""service":"{service}""#))
                && line.contains(r#""ms":""#)
        })
    };
    while !(handled_by("inway") && handled_by("brp")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        handled_by("inway") && handled_by("brp"),
        "{}",
        rvig_running.stderr()
    );
    let refused = ask(PARKEREN);
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["fsc-error-code"],
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED"
    );

    // The privacy officer finds the request about Sanne, with its purpose and legal basis.
    let inzage: Value = client
        .post(format!("http://{log}/lezenapi/v1/processing-activities"))
        .bearer_auth(&fg_token)
        .json(&serde_json::json!({"dpl.core.data_subject_id": "999990007", "dpl.core.data_subject_id_type": "BSN"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let records = inzage["processingActivities"].as_array().unwrap();
    let record = records
        .iter()
        .find(|r| {
            r["attributes"]["loket.exchange"]["serviceName"] == "brp-personen"
                && r["attributes"]["loket.exchange"]["errorCode"].is_null()
        })
        .unwrap_or_else(|| panic!("{inzage}"));
    let activity = &record["verwerkingsactiviteit"];
    assert_eq!(
        activity["doel"]["nl"],
        "U laten zien wat de overheid over u vastlegt"
    );
    // The refused attempt on her data is there too, with its reason.
    assert!(
        records.iter().any(|r| {
            r["attributes"]["loket.exchange"]["errorCode"]
                == "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED"
                && r["attributes"]["dpl.core.processing_activity_id"] == PARKEREN
        }),
        "{inzage}"
    );
    assert!(
        activity["grondslag"]["nl"]
            .as_str()
            .is_some_and(|g| !g.is_empty()),
        "{activity}"
    );

    // The key printed is the one RvIG's log signs its tree heads with. Asked without a
    // token, the log answers with the newest head it signed: over the request's two
    // records within its interval (100 ms).
    let newest_head = || -> Value {
        client
            .get(format!("http://{rvig_log}/lezenapi/v1/tree-heads/latest"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut head = newest_head();
    while head["treeSize"].as_u64() < Some(2) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        head = newest_head();
    }
    let decode = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    };
    let signed = loket_logboek::SignedTreeHead {
        size: head["treeSize"].as_u64().unwrap(),
        root: decode(head["rootHash"].as_str().unwrap())
            .try_into()
            .unwrap(),
        signed_at_ms: head["timestamp"].as_i64().unwrap(),
        signature: decode(head["signature"].as_str().unwrap()),
    };
    assert!(signed.size >= 2, "{head}");
    assert!(signed.verify(&loket_logboek::VerifyingKey(decode(&rvig_key))));

    // RvIG's log answers the municipality's portal token only with an assertion signed by
    // the key `loket portal public-key` printed, for the resident asked about.
    let portal = loket_core::resident_assertion::AssertionSigner::from_secret(
        &loket_core::Secret::new(inzage_key.clone()),
    )
    .unwrap();
    assert_eq!(portal.public_key_base64(), portal_key);
    let sanne = loket_core::Bsn::parse("999990007").unwrap();
    let as_portal = |assertion: Option<String>| {
        let mut request = client
            .post(format!("http://{rvig_log}/lezenapi/v1/processing-activities"))
            .bearer_auth(&portal_token)
            .json(&serde_json::json!({"dpl.core.data_subject_id": sanne.as_str(), "dpl.core.data_subject_id_type": "BSN"}));
        if let Some(assertion) = assertion {
            request = request.header(loket_core::resident_assertion::HEADER, assertion);
        }
        request.send().unwrap()
    };
    assert_eq!(as_portal(None).status(), 401);
    let now = time::OffsetDateTime::now_utc();
    let found: Value = as_portal(Some(portal.sign(&sanne, &decode(&rvig_key), now)))
        .json()
        .unwrap();
    assert!(
        found["processingActivities"]
            .as_array()
            .is_some_and(|records| !records.is_empty()),
        "{found}"
    );

    // The command line works on the same directory, signing as the configured organisation.
    let listed = loket(&[
        "exchange",
        "list",
        "--json",
        "--config",
        &config_arg(&gemeente),
    ]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["services"][0]["inway"], format!("https://{inway}"));
    let connection = requested["contractHash"].as_str().unwrap();
    let revoked = loket(&[
        "exchange",
        "revoke",
        connection,
        "--config",
        &config_arg(&rvig),
    ]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = ask(MIJN_GEGEVENS);
        if response.status() == 403 {
            assert_eq!(
                response.headers()["fsc-error-code"],
                "ERROR_CODE_GRANT_NOT_FOUND"
            );
            break;
        }
        assert!(Instant::now() < deadline, "still answered after revoking");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Stopped, the municipality's log checks out from its configuration alone.
    assert!(running.terminate());
    let verified = loket(&["log", "verify", "--config", &config_arg(&gemeente)]);
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(out.contains("logboek") && out.contains(" ok: "), "{out}");
    assert!(!out.contains(" ok: 0 records"), "{out}");
    // An auditor with the public key only: the private keys need not be there.
    use base64::Engine as _;
    let public_key = loket(&["log", "public-key", "--config", &config_arg(&gemeente)]);
    assert!(public_key.status.success());
    let public_key = String::from_utf8(public_key.stdout).unwrap();
    let keys = root.join("gemeente-keys");
    let kept = root.join("kept-keys");
    std::fs::rename(&keys, &kept).unwrap();
    std::fs::create_dir(&keys).unwrap();
    let head = "logboek.latest-head.json";
    std::fs::copy(kept.join(head), keys.join(head)).unwrap();
    let verify_with = |key: &str| {
        loket(&[
            "log",
            "verify",
            "--config",
            &config_arg(&gemeente),
            "--public-key",
            key,
        ])
    };
    let verified = verify_with(public_key.trim());
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains(" ok: "));
    // Another log's key: its heads are not this log's.
    let other = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    assert!(!verify_with(&other).status.success());
    let garbled = verify_with("not a key");
    assert!(!garbled.status.success());
    assert!(String::from_utf8_lossy(&garbled.stderr).contains("--public-key"));
}

const GEMEENTE_OIN: &str = "00000001001234567000";
const RVIG_OIN: &str = "00000001009876543000";

/// A CA made here (rcgen), for what `loket pki init` (which keeps no CA key) cannot
/// give: a renewed certificate from the same CA, and revocation lists.
struct TestCa {
    issuer: rcgen::Certificate,
    key: rcgen::KeyPair,
    /// The serial number of each certificate issued, by file name.
    serials: Vec<(String, u64)>,
}

impl TestCa {
    /// A new CA, its certificate in `dir/ca.pem`.
    fn new(dir: &Path) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
        std::fs::create_dir_all(dir).unwrap();
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let issuer = ca.self_signed(&key).unwrap();
        std::fs::write(dir.join("ca.pem"), issuer.pem()).unwrap();
        Self {
            issuer,
            key,
            serials: Vec::new(),
        }
    }

    /// A certificate for `oin` with a key of its own, valid from yesterday for a year, in
    /// `dir/<name>.pem` and `dir/<name>.key`.
    fn issue(&mut self, dir: &Path, name: &str, oin: &str) {
        use rcgen::{
            CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
            KeyUsagePurpose, SanType, SerialNumber,
        };
        let serial = self.serials.len() as u64 + 1;
        self.serials.push((name.to_owned(), serial));
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.serial_number = Some(SerialNumber::from(serial));
        params.distinguished_name = DistinguishedName::new();
        // 2.5.4.5 serialNumber: the OIN.
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 5]), oin);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer, &self.key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    /// The CA's revocation list naming the certificates `revoked`, put in place of
    /// `path` at once (written beside it, then renamed), as a job fetching lists would.
    fn revoke(&self, path: &Path, revoked: &[&str]) {
        let next_update = time::OffsetDateTime::now_utc() + time::Duration::days(7);
        self.revoke_until(path, revoked, next_update);
    }

    /// As `revoke`, with the next list promised at `next_update`.
    fn revoke_until(&self, path: &Path, revoked: &[&str], next_update: time::OffsetDateTime) {
        use rcgen::{
            CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber,
        };
        let now = time::OffsetDateTime::now_utc();
        let list = CertificateRevocationListParams {
            this_update: now - time::Duration::hours(1),
            next_update,
            // Each list a number of its own, the later the larger.
            crl_number: SerialNumber::from(
                u64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap(),
            ),
            issuing_distribution_point: None,
            revoked_certs: self
                .serials
                .iter()
                .filter(|(name, _)| revoked.contains(&name.as_str()))
                .map(|(_, serial)| RevokedCertParams {
                    serial_number: SerialNumber::from(*serial),
                    revocation_time: now,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer, &self.key)
        .unwrap();
        let beside = path.with_extension("new");
        std::fs::write(&beside, list.pem().unwrap()).unwrap();
        std::fs::rename(beside, path).unwrap();
    }
}

/// The municipality renews its certificate with a new key, as the README describes. With
/// the old one kept as `previous_certificate`, its outway goes on answering under the
/// contract that names the old key; without it, it refuses until RvIG approves the
/// connection asked for again with `loket exchange request-again`. Then the CA revokes
/// the new certificate: once the new list is in RvIG's file, its inway stops answering.
#[test]
fn after_a_renewal_with_a_new_key_the_outway_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pki = root.join("pki");
    let mut ca = TestCa::new(&pki);
    ca.issue(&pki, "rvig", RVIG_OIN);
    ca.issue(&pki, "gemeente", GEMEENTE_OIN);
    ca.issue(&pki, "gemeente-vernieuwd", GEMEENTE_OIN);
    let revocation_lists = pki.join("revoked.pem");
    ca.revoke(&revocation_lists, &[]);
    let directory = root.join("directory");
    let rvig_data = seeded_brp(&root.join("rvig"));
    let [brp, inway, rvig_manager, outway, gemeente_manager] =
        free_ports::<5>().map(|port| format!("127.0.0.1:{port}"));
    let (rvig_token, gemeente_token) = ("r".repeat(32), "g".repeat(32));
    let rvig = root.join("rvig.toml");
    std::fs::write(
        &rvig,
        format!(
            "municipality = \"RvIG\"\nmunicipality_code = \"9999\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:{data}\"\n[brp]\nlisten = \"{brp}\"\n{exchange}",
            data = rvig_data.display(),
            exchange = exchange_config(
                "rvig",
                "Rijksdienst voor Identiteitsgegevens",
                &pki,
                &directory,
                &format!(
                    "activities_file = \"{RVIG_ACTIVITIES}\"\nrevocation_lists_file = \"{lists}\"\noverdue_revocation_lists = \"refuse\"\n[exchange.log]\nkeys = \"{keys}\"\n[exchange.inway]\nlisten = \"{inway}\"\n[exchange.inway.services]\nbrp-personen = {{ register = \"http://{brp}\", verwerkingsactiviteit = \"{RVIG_BRP}\" }}\n[exchange.management]\nlisten = \"{rvig_manager}\"\ntoken = \"{rvig_token}\"\n",
                    keys = root.join("rvig-keys").display(),
                    lists = revocation_lists.display(),
                )
            )
        ),
    )
    .unwrap();
    let gemeente = root.join("gemeente.toml");
    let configure_gemeente = |certificate: &str, previous: Option<&str>| {
        let previous = previous.map_or(String::new(), |name| {
            format!(
                "previous_certificate_file = \"{pki}/{name}.pem\"\nprevious_private_key_file = \"{pki}/{name}.key\"\n",
                pki = pki.display()
            )
        });
        let config = format!(
            "municipality = \"Gemeente Voorbeeldstad\"\nmunicipality_code = \"9999\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:{data}\"\n{exchange}",
            data = root.join("gemeente").display(),
            exchange = exchange_config(
                certificate,
                "Gemeente Voorbeeldstad",
                &pki,
                &directory,
                &format!(
                    "{previous}[exchange.log]\nkeys = \"{keys}\"\n[exchange.outway]\nlisten = \"{outway}\"\n[exchange.management]\nlisten = \"{gemeente_manager}\"\ntoken = \"{gemeente_token}\"\n",
                    keys = root.join("gemeente-keys").display()
                )
            )
        );
        std::fs::write(&gemeente, config).unwrap();
    };
    let config_arg = |path: &Path| path.to_str().unwrap().to_owned();
    let start_gemeente = || {
        Running::on_port(
            &["serve", "--config", &config_arg(&gemeente)],
            &[],
            &format!("http://{gemeente_manager}"),
        )
    };
    let rvig_running = Running::on_port(
        &["serve", "--config", &config_arg(&rvig)],
        &[],
        &format!("http://{rvig_manager}"),
    );
    configure_gemeente("gemeente", None);
    let running = start_gemeente();

    // A connection under the municipality's first key, in force at both.
    let client = reqwest::blocking::Client::new();
    let (status, published) = manage(
        &client,
        &format!("http://{rvig_manager}/api/v1/services"),
        &rvig_token,
        &serde_json::json!({"name": "brp-personen", "inway": format!("https://{inway}"), "openapi": "/openapi.json", "subjectField": "burgerservicenummer"}),
    );
    assert_eq!(status, 201, "{published}");
    let hash = |contract: &Value| contract["contractHash"].as_str().unwrap().to_owned();
    accept_when_seen(
        &client,
        &gemeente_manager,
        &gemeente_token,
        &hash(&published),
    );
    let (status, requested) = manage(
        &client,
        &format!("http://{gemeente_manager}/api/v1/contracts"),
        &gemeente_token,
        &serde_json::json!({"service": "brp-personen", "processingActivities": [MIJN_GEGEVENS]}),
    );
    assert_eq!(status, 201, "{requested}");
    accept_when_seen(&client, &rvig_manager, &rvig_token, &hash(&requested));
    answered_within_15_s(&client, &outway, MIJN_GEGEVENS);
    assert!(running.terminate());

    // Renewed, with the old certificate kept: answered at once, under the same contract.
    configure_gemeente("gemeente-vernieuwd", Some("gemeente"));
    let running = start_gemeente();
    let answered = ask_for_sanne(&client, &outway, MIJN_GEGEVENS);
    assert_eq!(answered.status(), 200, "{:?}", answered.text());
    assert!(
        running.stderr().contains("names the outway's previous key"),
        "{}",
        running.stderr()
    );
    assert!(running.terminate());

    // Renewed without it: refused, until RvIG approves the connection asked for again.
    configure_gemeente("gemeente-vernieuwd", None);
    let _running = start_gemeente();
    let refused = ask_for_sanne(&client, &outway, MIJN_GEGEVENS);
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["fsc-error-code"],
        "ERROR_CODE_GRANT_NOT_FOUND"
    );
    let again = loket(&[
        "exchange",
        "request-again",
        &hash(&requested),
        "--config",
        &config_arg(&gemeente),
    ]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again = String::from_utf8(again.stdout).unwrap();
    let again = again.lines().next().unwrap();
    let approved = loket(&["exchange", "approve", again, "--config", &config_arg(&rvig)]);
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    answered_within_15_s(&client, &outway, MIJN_GEGEVENS);

    // RvIG's metrics tell its lists; a file that cannot be used is counted, and the
    // lists in force stay.
    let metrics = || {
        client
            .get(format!("http://{rvig_manager}/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let gauge = |text: &str, name: &str| -> i64 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let text = metrics();
    assert_eq!(gauge(&text, "loket_exchange_revocation_lists"), 1);
    assert!(gauge(&text, "loket_exchange_revocation_lists_next_update_seconds") > now);
    let broken = pki.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    std::fs::rename(&broken, &revocation_lists).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while gauge(&metrics(), "loket_exchange_revocation_list_failures_total") == 0 {
        assert!(Instant::now() < deadline, "{}", rvig_running.stderr());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(gauge(&metrics(), "loket_exchange_revocation_lists"), 1);
    assert_eq!(ask_for_sanne(&client, &outway, MIJN_GEGEVENS).status(), 200);

    // RvIG refuses overdue lists: once the list's nextUpdate passed without a newer one,
    // the CA's certificates are refused, on connections opened before too, until its
    // current list is in place.
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(8);
    ca.revoke_until(&revocation_lists, &[], due);
    let refused = refused_within(
        25,
        || ask_for_sanne(&client, &outway, MIJN_GEGEVENS),
        || rvig_running.stderr(),
    );
    assert!(
        time::OffsetDateTime::now_utc() >= due,
        "refused before it was due"
    );
    // On the connection kept from before: 401; a new one would get no handshake (502).
    assert!(
        [401, 502].contains(&refused.status().as_u16()),
        "{:?}",
        refused.text()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !rvig_running.stderr().contains("counts no more") {
        assert!(Instant::now() < deadline, "{}", rvig_running.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    ca.revoke(&revocation_lists, &[]);
    answered_within_15_s(&client, &outway, MIJN_GEGEVENS);

    // The CA revokes the new certificate; RvIG's file gets the new list. Requests on
    // connections opened before are refused too.
    ca.revoke(&revocation_lists, &["gemeente-vernieuwd"]);
    let refused = refused_within(
        15,
        || ask_for_sanne(&client, &outway, MIJN_GEGEVENS),
        || rvig_running.stderr(),
    );
    assert_eq!(refused.status(), 401, "{:?}", refused.text());
    assert_eq!(
        refused.headers()["fsc-error-code"],
        "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED"
    );
    // Log lines are written by a thread of their own a few milliseconds later.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !rvig_running.stderr().contains("revocation lists replaced") {
        assert!(Instant::now() < deadline, "{}", rvig_running.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first answer of `ask` that is not 200, asking every 200 ms for at most `seconds`
/// (else the test fails, with what `stderr` says).
fn refused_within(
    seconds: u64,
    ask: impl Fn() -> reqwest::blocking::Response,
    stderr: impl Fn() -> String,
) -> reqwest::blocking::Response {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let response = ask();
        if response.status() != 200 {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "still answered after {seconds} s:\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn loket(args: &[&str]) -> std::process::Output {
    Command::new(LOKET).args(args).output().unwrap()
}

#[test]
fn a_parking_permit_is_decided_through_the_exchange_and_shows_in_the_log() {
    let (_dir, data) = data_dir();
    let _demo = Running::demo(&data);
    let data_arg = data.to_str().unwrap();
    let apply = |bsn: &str, kenteken: &str| -> Value {
        let output = loket(&[
            "apply",
            "--data",
            data_arg,
            "--product",
            "bewonersparkeervergunning",
            "--bsn",
            bsn,
            "--answer",
            &format!("kenteken={kenteken}"),
            "--answer",
            "leaseverklaring=nee",
            "--json",
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };

    // Sanne lives here and her car is hers: granted, with the reasons.
    let sanne = apply("999990007", "34-gbv-7");
    let besluit = &sanne["besluit"];
    assert_eq!(besluit["uitkomst"], "toegekend", "{besluit}");
    assert!(
        besluit["uitleg"]["nl"]
            .as_str()
            .unwrap()
            .contains("U staat ingeschreven op Kerkstraat 12 in Voorbeeldstad."),
        "{besluit}"
    );
    assert_eq!(besluit["tarief"]["bedrag_centen"], 7500);
    // The data came live from the registers, through the exchange, in one trace.
    let sources: Vec<&str> = besluit["gegevens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["bron"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["BRP", "RDW", "Inkomen"]);
    let trace = besluit["gegevens"][0]["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(besluit["gegevens"][0]["fout"].is_null(), "{besluit}");

    // The municipality's processing log has the BRP and RDW requests of that trace.
    let tokens: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("keys/inzage-tokens.json")).unwrap(),
    )
    .unwrap();
    let endpoints = read_endpoints(&data).unwrap();
    let logged: Value = reqwest::blocking::Client::new()
        .post(format!(
            "{}/lezenapi/v1/processing-activities",
            endpoints["logboek-gemeente"].as_str().unwrap()
        ))
        .bearer_auth(tokens["fg"].as_str().unwrap())
        .json(&serde_json::json!({"traceId": trace}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let services = services_in(&logged);
    assert!(
        services.contains("brp-personen") && services.contains("rdw-voertuigen"),
        "{logged}"
    );

    // Ingrid lives elsewhere and the car is not hers: refused, both reasons, bezwaar.
    let ingrid = &apply("999990081", "34GBV7")["besluit"];
    assert_eq!(ingrid["uitkomst"], "afgewezen");
    let reasons: Vec<&str> = ingrid["regels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["uitkomst"] == "niet-voldaan")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["woont-in-gemeente", "auto-op-naam"]);
    assert!(
        ingrid["bezwaar"]["nl"]
            .as_str()
            .unwrap()
            .contains("bezwaar")
    );

    // The same cases through the demo's ZGW Zaken API, with the portal's client token.
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("keys/zgw-secrets.json")).unwrap())
            .unwrap();
    let token = portal_zgw_token(&secrets);
    let zaken_api = endpoints["zaken-api"].as_str().unwrap();
    let list = |bsn: &str, token: Option<&str>| {
        let mut request = reqwest::blocking::Client::new().get(format!(
            "{zaken_api}/zaken/api/v1/zaken?rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn={bsn}"
        ));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    };
    assert_eq!(list("999990007", None).status(), 401);
    let page: Value = list("999990007", Some(&token)).json().unwrap();
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(
        page["results"][0]["identificatie"], sanne["identificatie"],
        "{page}"
    );

    // A kenteken that is not one is refused before anything is asked.
    let bad = loket(&[
        "apply",
        "--data",
        data_arg,
        "--product",
        "bewonersparkeervergunning",
        "--bsn",
        "999990007",
        "--answer",
        "kenteken=123",
        "--answer",
        "leaseverklaring=nee",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--answer kenteken"));

    // Priya drives a lease car: without the statement the application is incomplete;
    // with it, a person decides, and the file is kept with the case.
    let priya = |documents: &[&str]| {
        let mut args = vec![
            "apply",
            "--data",
            data_arg,
            "--product",
            "bewonersparkeervergunning",
            "--bsn",
            "999990032",
            "--answer",
            "kenteken=AB-12-CD",
            "--answer",
            "leaseverklaring=ja",
            "--json",
        ];
        args.extend_from_slice(documents);
        loket(&args)
    };
    let incomplete = priya(&[]);
    assert!(!incomplete.status.success());
    assert!(String::from_utf8_lossy(&incomplete.stderr).contains("--document leasedocument"));
    let statement =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/leaseverklaring-priya.pdf");
    let document = format!("leasedocument={}", statement.display());
    let complete = priya(&["--document", &document]);
    assert!(
        complete.status.success(),
        "{}",
        String::from_utf8_lossy(&complete.stderr)
    );
    let complete: Value = serde_json::from_slice(&complete.stdout).unwrap();
    assert_eq!(complete["besluit"]["uitkomst"], "behandelaar", "{complete}");
}

/// A ZGW token of the demo's portal client (`keys/zgw-secrets.json`), valid from now.
fn portal_zgw_token(secrets: &Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    loket_zaken::zgw_auth::sign(
        "loket-portaal",
        secrets["loket-portaal"].as_str().unwrap(),
        "portaal",
        i64::try_from(now).unwrap(),
    )
}

/// One part of an application as a browser (or someone crafting one) might send it.
#[derive(Debug, Clone)]
enum Part {
    Text(&'static str, String),
    File(&'static str, &'static str, Vec<u8>),
}

/// An application: where the session's token goes, the idempotency key, and the rest.
#[derive(Debug, Clone)]
struct Sent {
    /// 0: first, right; 1: a forged one; 2: none; 3: right, but after a file.
    csrf: u8,
    /// 0: a new one; 1: the last accepted application's; 2: not a key; 3: none.
    key: u8,
    parts: Vec<Part>,
}

fn applications() -> impl proptest::strategy::Strategy<Value = Sent> {
    use proptest::prelude::*;
    let text = |name: &'static str, present: f64, values: Vec<&'static str>| {
        proptest::option::weighted(
            present,
            proptest::sample::select(values).prop_map(move |v| Part::Text(name, v.to_owned())),
        )
    };
    let kenteken = text(
        "kenteken",
        0.9,
        vec![
            "34-GBV-7",
            "34-GBV-7",
            "34gbv7",
            "AB-12-CD",
            "123",
            "",
            "<script>x</script>",
            "34-GBV-7\0",
        ],
    );
    let lease = text(
        "leaseverklaring",
        0.9,
        vec!["nee", "nee", "nee", "ja", "misschien", ""],
    );
    let file = proptest::option::of(proptest::sample::select(vec![
        ("lease.pdf", b"%PDF-1.4 verklaring".to_vec()),
        ("lease.exe", b"MZ\x90\x00 program".to_vec()),
        ("leeg.pdf", Vec::new()),
    ]))
    .prop_map(|f| f.map(|(name, content)| Part::File("leasedocument", name, content)));
    let extra = text("onbekend", 0.2, vec!["x", "\0"]);
    (
        prop_oneof![7 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
        prop_oneof![7 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
        (kenteken, lease, file, extra),
    )
        .prop_map(|(csrf, key, (kenteken, lease, file, extra))| Sent {
            csrf,
            key,
            parts: [kenteken, lease, file, extra]
                .into_iter()
                .flatten()
                .collect(),
        })
}

fn multipart_body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(b"--grens\r\n");
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file, content) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--grens--\r\n");
    body
}

/// Whatever a resident's browser sends as an application, it makes exactly one case, or
/// the same case again for the same key, or none and a page saying what to change:
/// never a server error, never a case from a forged form.
#[test]
fn any_application_makes_one_case_or_none_and_says_why() {
    use proptest::strategy::{Strategy, ValueTree};
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    let client = browser();
    let cookie = portal_log_in(&client, &demo.portal, "999990007");
    let csrf = csrf_in(&portal_page(
        &client,
        &format!("{}/berichten", demo.portal),
        &cookie,
    ));
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("keys/zgw-secrets.json")).unwrap())
            .unwrap();
    let zaken_api = read_endpoints(&data).unwrap()["zaken-api"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = || -> u64 {
        let page: Value = client
            .get(format!(
                "{zaken_api}/zaken/api/v1/zaken?rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn=999990007"
            ))
            .bearer_auth(portal_zgw_token(&secrets))
            .send()
            .unwrap()
            .json()
            .unwrap();
        page["count"].as_u64().unwrap()
    };

    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = applications();
    let mut accepted: Option<(String, String)> = None;
    let (mut made, mut again) = (0, 0);
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..60 {
        let sent = strategy.new_tree(&mut runner).unwrap().current();
        let key = match (sent.key, &accepted) {
            (1, Some((key, _))) => Some(key.clone()),
            (2, _) => Some("kort".to_owned()),
            (3, _) => None,
            _ => Some(format!("sleutel-{round}-{}", std::process::id())),
        };
        let reused = sent.key == 1 && accepted.is_some();
        let mut parts = Vec::new();
        match sent.csrf {
            0 => parts.push(Part::Text("csrf", csrf.clone())),
            1 => parts.push(Part::Text("csrf", "vervalst".to_owned())),
            _ => {}
        }
        if let Some(key) = &key {
            parts.push(Part::Text("sleutel", key.clone()));
        }
        parts.extend(sent.parts.iter().cloned());
        if sent.csrf == 3 {
            parts.push(Part::Text("csrf", csrf.clone()));
        }
        let before = cases();
        let answer = client
            .post(format!(
                "{}/aanvragen/bewonersparkeervergunning/versturen",
                demo.portal
            ))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .header("content-type", "multipart/form-data; boundary=grens")
            .body(multipart_body(&parts))
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = answer.text().unwrap();
        let after = cases();
        let context = format!("{sent:?} key {key:?} → {status} {location:?}");
        let text_of = |name: &str| {
            sent.parts.iter().find_map(|p| match p {
                Part::Text(n, v) if *n == name => Some(v.as_str()),
                _ => None,
            })
        };
        let nul = sent
            .parts
            .iter()
            .any(|p| matches!(p, Part::Text(_, v) if v.contains('\0')));
        let pdf = sent
            .parts
            .iter()
            .any(|p| matches!(p, Part::File(_, _, c) if c.starts_with(b"%PDF-")));
        let forged = sent.csrf != 0;
        let complete = matches!(
            text_of("kenteken"),
            Some("34-GBV-7" | "34gbv7" | "AB-12-CD")
        ) && match text_of("leaseverklaring") {
            Some("nee") => true,
            Some("ja") => pdf,
            _ => false,
        } && !sent
            .parts
            .iter()
            .any(|p| matches!(p, Part::File(_, n, _) if *n == "lease.exe"));
        match status {
            303 if reused => {
                assert_eq!(after, before, "the same case again: {context}");
                assert_eq!(
                    location,
                    accepted.as_ref().map(|a| a.1.clone()),
                    "{context}"
                );
                again += 1;
            }
            303 => {
                assert_eq!(after, before + 1, "exactly one case: {context}");
                let location = location.unwrap();
                assert!(location.starts_with("/zaken/"), "{context}");
                let page = client
                    .get(format!("{}{location}", demo.portal))
                    .header("cookie", &cookie)
                    .send()
                    .unwrap();
                assert_eq!(page.status(), 200, "{context}");
                accepted = Some((key.clone().unwrap(), location));
                made += 1;
            }
            400 | 403 => {
                assert_eq!(after, before, "no case: {context}");
                assert!(body.contains("<html"), "a page for the browser: {context}");
                assert!(!body.contains("<script>x</script>"), "{context}");
            }
            _ => panic!("{context}: {body}"),
        }
        // What decides the answer, in the order the portal checks it.
        let expected = if forged {
            403
        } else if nul || key.is_none() || sent.key == 2 {
            400
        } else if reused || complete {
            303
        } else {
            400
        };
        assert_eq!(status, expected, "{context}: {body}");
        if status == 400 && !nul && key.is_some() && sent.key != 2 {
            assert!(
                body.contains("class=\"error-summary\""),
                "says what to change: {context}"
            );
        }
        *outcomes.entry(status).or_insert(0) += 1;
    }
    for status in [303, 400, 403] {
        assert!(outcomes.contains_key(&status), "{outcomes:?}");
    }
    assert!(made > 0 && again > 0, "{made} new, {again} again");
}

#[test]
fn an_invalid_catalogue_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    for entry in std::fs::read_dir(&catalogue).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "anders = \"afwijzen\"\nbehandelaar_als",
            "anders = \"weigeren\"\nbehandelaar_als",
        );
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let good = loket(&["catalogue", "check"]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("bewonersparkeervergunning"));

    let check = loket(&[
        "catalogue",
        "check",
        "--catalogue",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("bewonersparkeervergunning.regels.toml:") && stderr.contains("weigeren"),
        "{stderr}"
    );
    // The demo does not start on it either.
    let (_data_dir, data) = data_dir();
    let demo = loket(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
        "--catalogue",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!demo.status.success());
    assert!(
        String::from_utf8_lossy(&demo.stderr).contains("bewonersparkeervergunning.regels.toml:")
    );
}

/// The CSRF token in a page's form.
fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A signed-in resident's page, as text.
/// A client that, like a test of a browser's steps, sees each redirect itself.
fn browser() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn portal_page(client: &reqwest::blocking::Client, url: &str, cookie: &str) -> String {
    client
        .get(url)
        .header("cookie", cookie)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// Log in to the demo's portal as `bsn` with the simulated DigiD: the session cookie.
fn portal_log_in(client: &reqwest::blocking::Client, portal: &str, bsn: &str) -> String {
    let cookie_of = |response: &reqwest::blocking::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("loket_sessie="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let form = client
        .get(format!("{portal}/digid-simulatie"))
        .send()
        .unwrap();
    let anonymous = cookie_of(&form);
    let csrf = csrf_in(&form.text().unwrap());
    let answer = client
        .post(format!("{portal}/digid-simulatie"))
        .header("cookie", anonymous)
        .form(&[("csrf", csrf.as_str()), ("persona", bsn)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    cookie_of(&answer)
}

#[test]
fn the_overview_reminds_of_an_expiring_passport_asking_the_register_once() {
    const MOHAMMED: &str = "999990019"; // his passport expires within two months
    const ATTENDEREN: &str = "https://voorbeeldstad.example/verwerkingen/attenderen";
    let (_dir, data) = data_dir();
    let demo = Running::demo(&data);
    let client = browser();
    let cookie = portal_log_in(&client, &demo.portal, MOHAMMED);
    for _ in 0..3 {
        let page = client
            .get(format!("{}/overzicht", demo.portal))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().unwrap();
        assert!(html.contains("Binnenkort"), "{html}");
        assert!(
            html.contains("paspoort") && html.contains("verloopt op"),
            "{html}"
        );
    }
    // Three views, one lookup: the reminder is remembered, not asked on every page.
    let logged = read_as_portal(&client, &data, "gemeente", MOHAMMED);
    let reminders = logged["processingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["attributes"]["dpl.core.processing_activity_id"] == ATTENDEREN
                // The request record: durable before the register was asked (an
                // answer's record may still be on its way to the log).
                && r["name"] == "reisdocumenten verzoek"
        })
        .count();
    assert_eq!(reminders, 1, "{logged}");

    // Lotte's study ends this month: DUO, asked under the same activity.
    let lotte = portal_log_in(&client, &demo.portal, "999990020");
    let html = portal_page(&client, &format!("{}/overzicht", demo.portal), &lotte);
    assert!(html.contains("eindigt naar verwachting op"), "{html}");
}
