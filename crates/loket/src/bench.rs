//! `loket bench`: the measurements behind BENCHMARKS.md, reproducible with one command.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `loket demo` from process start to a ready `/readyz`, on a new and on an existing data directory.
    Startup {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// A processing log: durable appends, inzage among them, and verify over all.
    Logboek {
        /// A postgres:// URL or sqlite:DIR; the log must not exist yet.
        #[arg(long)]
        storage: String,
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Distinct data subjects the records are about.
        #[arg(long, default_value_t = 1_000_000)]
        subjects: u64,
        /// Concurrent callers, each appending one record at a time.
        #[arg(long, default_value_t = 512)]
        callers: usize,
        /// Where the log's keys are kept; a second run on the same storage and keys
        /// measures inzage and verify again without refilling.
        #[arg(long, default_value = "./bench-keys")]
        keys: std::path::PathBuf,
    },
    /// The ZGW Zaken API over a store of N cases (imported on the first run): clients list
    /// one resident's cases after another.
    Zaken {
        /// A postgres:// URL or sqlite:DIR.
        #[arg(long)]
        storage: String,
        #[arg(long, default_value_t = 1_000_000)]
        zaken: u64,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds of measurement (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
    /// Parking-permit applications decided end to end against a running `loket demo`
    /// (three register requests through the exchange each, rules, the case committed).
    Decisions {
        /// The running demo's data directory.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        #[arg(long, default_value_t = 5_000)]
        applications: u64,
        /// Applications in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Residents logged in to a running `loket demo` load their Overzicht page again and
    /// again (sessions, cases, letters, and what is coming up through the exchange).
    Overzicht {
        /// The running demo's data directory.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// Logged-in residents, each loading one page after another.
        #[arg(long, default_value_t = 200)]
        sessions: usize,
        /// Seconds of measurement (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
    /// Keep N connections busy with GET requests to URL and report throughput and latency.
    Http {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds of measurement (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// POST this JSON body (as application/json) instead of sending GET.
        #[arg(long, conflicts_with = "bodies")]
        body: Option<String>,
        /// POST the JSON bodies in this file (one per line) in turn, so that requests
        /// differ (other BSNs, say) instead of asking the same thing again and again.
        #[arg(long)]
        bodies: Option<PathBuf>,
        /// Extra request header, `name: value` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Send at this many requests per second in all (spread evenly over the
        /// connections) instead of as fast as answers come: an open-loop load, whose
        /// latency counts from when a request was due, so a slow answer also counts
        /// against the requests it held up (as wrk2 does).
        #[arg(long)]
        rate: Option<f64>,
    },
}

#[allow(clippy::print_stdout)]
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Startup { runs } => {
            let (cold, warm) = startup(runs).await?;
            println!("cold start (new data dir) to ready: {}", summary_ms(&cold));
            println!("warm start (existing data) to ready: {}", summary_ms(&warm));
        }
        BenchCommand::Logboek {
            storage,
            records,
            subjects,
            callers,
            keys,
        } => {
            let storage = storage.parse().context("--storage")?;
            crate::bench_log::run(storage, &keys, records, subjects, callers).await?;
        }
        BenchCommand::Zaken {
            storage,
            zaken,
            clients,
            duration,
        } => {
            let storage = storage.parse().context("--storage")?;
            crate::bench_zaken::run(storage, zaken, clients, duration).await?;
        }
        BenchCommand::Decisions {
            data,
            applications,
            concurrency,
        } => crate::bench_decisions::run(data, applications, concurrency).await?,
        BenchCommand::Overzicht {
            data,
            sessions,
            duration,
        } => crate::bench_overzicht::run(data, sessions, duration).await?,
        BenchCommand::Http {
            url,
            connections,
            duration,
            body,
            bodies,
            headers,
            rate,
        } => {
            let bodies = match (body, bodies) {
                (Some(body), _) => vec![Bytes::from(body)],
                (None, Some(file)) => read_bodies(&file)?,
                (None, None) => Vec::new(),
            };
            let headers = parse_headers(&headers)?;
            let pace = match rate {
                Some(rate) if rate.is_finite() && rate > 0.0 => {
                    Some(Duration::from_secs_f64(connections as f64 / rate))
                }
                Some(rate) => {
                    bail!("--rate {rate} is not a positive number of requests per second")
                }
                None => None,
            };
            let load = Load {
                bodies: Arc::new(bodies),
                headers: Arc::new(headers),
                paths: None,
                pace,
            };
            let report = http_load(&url, connections, Duration::from_secs(duration), load).await?;
            let offered =
                rate.map_or_else(String::new, |rate| format!(" (offered {rate:.0} req/s)"));
            let mut sorted = report.latencies_us;
            sorted.sort_unstable();
            say(format_args!(
                "{} requests in {:.1} s over {connections} connections: {:.0} req/s{offered}, {} errors\n\
                 latency: p50 {} µs, p99 {} µs, max {} µs",
                sorted.len(),
                report.elapsed.as_secs_f64(),
                sorted.len() as f64 / report.elapsed.as_secs_f64(),
                report.errors,
                percentile(&sorted, 0.50),
                percentile(&sorted, 0.99),
                sorted.last().copied().unwrap_or(0)
            ))?;
        }
    }
    Ok(())
}

/// Print a result. A reader that stopped early (`| head -1`) is not an error: the
/// figures it wanted are printed, and `println!` would panic on the closed pipe.
fn say(text: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

/// What every request of a load run carries.
#[derive(Clone, Default)]
struct Load {
    /// POST these in turn; none: GET.
    bodies: Arc<Vec<Bytes>>,
    headers: Arc<Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>>,
    /// Paths to take turns with instead of the URL's own.
    paths: Option<Arc<Vec<String>>>,
    /// Open loop: each connection sends one request per `pace`, on schedule.
    pace: Option<Duration>,
}

/// The bodies of `--bodies FILE`: one per line, blank lines skipped.
fn read_bodies(file: &Path) -> anyhow::Result<Vec<Bytes>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("--bodies {}", file.display()))?;
    let bodies: Vec<Bytes> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Bytes::from(line.to_owned()))
        .collect();
    if bodies.is_empty() {
        bail!("--bodies {}: no bodies in the file", file.display());
    }
    Ok(bodies)
}

fn parse_headers(
    headers: &[String],
) -> anyhow::Result<Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>> {
    headers
        .iter()
        .map(|header| {
            let (name, value) = header
                .split_once(':')
                .with_context(|| format!("--header {header:?} is not `name: value`"))?;
            Ok((name.trim().parse()?, value.trim().parse()?))
        })
        .collect()
}

fn summary_ms(samples: &[Duration]) -> String {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
    format!(
        "median {median:.0} ms (min {:.0}, max {:.0}, n={})",
        ms.first().copied().unwrap_or(0.0),
        ms.last().copied().unwrap_or(0.0),
        ms.len()
    )
}

pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or(0)
}

async fn startup(runs: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let exe = std::env::current_exe()?;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let dir = std::env::temp_dir().join(format!(
            "loket-bench-{}",
            loket_core::ids::new_id().simple()
        ));
        cold.push(time_to_ready(&exe, &dir).await?);
        warm.push(time_to_ready(&exe, &dir).await?);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok((cold, warm))
}

/// Start the demo and poll until endpoints.json exists and the process is ready (its
/// operations address checks every service).
async fn time_to_ready(exe: &Path, data: &PathBuf) -> anyhow::Result<Duration> {
    let _ = std::fs::remove_file(data.join("endpoints.json"));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start loket demo")?;
    let deadline = started + Duration::from_secs(60);
    let ready = loop {
        if Instant::now() > deadline {
            bail!("demo did not become ready within 60 s");
        }
        if let Some(operations) = read_operations(data)
            && get_status(&format!("{operations}/readyz")).await == Some(200)
        {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    child.kill().await.ok();
    child.wait().await.ok();
    Ok(ready)
}

fn read_operations(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data.join("endpoints.json")).ok()?;
    let endpoints: serde_json::Value = serde_json::from_str(&text).ok()?;
    endpoints.get("operations")?.as_str().map(str::to_owned)
}

async fn get_status(url: &str) -> Option<u16> {
    let (authority, path) = split_url(url).ok()?;
    let mut sender = connect(&authority).await.ok()?;
    let request = build_request(&authority, &path, &Load::default(), 0).ok()?;
    let response = sender.send_request(request).await.ok()?;
    Some(response.status().as_u16())
}

fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs can be benchmarked")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    Ok((authority.to_owned(), path))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

fn build_request(
    authority: &str,
    path: &str,
    load: &Load,
    turn: usize,
) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let mut request = hyper::Request::builder()
        .uri(path)
        .header(hyper::header::HOST, authority);
    for (name, value) in load.headers.iter() {
        request = request.header(name, value);
    }
    Ok(match load.bodies.get(turn % load.bodies.len().max(1)) {
        Some(body) => request
            .method(hyper::Method::POST)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))?,
        None => request
            .method(hyper::Method::GET)
            .body(Full::new(Bytes::new()))?,
    })
}

pub(crate) struct LoadReport {
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
}

/// GET each of `paths` on `base` in turn, with an `Authorization` header.
pub(crate) async fn http_load_paths(
    base: &str,
    paths: &[String],
    connections: usize,
    duration: Duration,
    authorization: &str,
) -> anyhow::Result<LoadReport> {
    let load = Load {
        bodies: Arc::default(),
        headers: Arc::new(vec![(
            hyper::header::AUTHORIZATION,
            hyper::header::HeaderValue::from_str(authorization)?,
        )]),
        paths: Some(Arc::new(paths.to_vec())),
        pace: None,
    };
    http_load(&format!("{base}/"), connections, duration, load).await
}

/// One keep-alive connection per worker, each sending its next request as soon as the
/// previous answer is read: a closed-loop load like wrk's. With a `pace`, each sends on
/// a schedule instead (the connections' schedules staggered), and a request's latency
/// runs from when it was due.
async fn http_load(
    url: &str,
    connections: usize,
    duration: Duration,
    load: Load,
) -> anyhow::Result<LoadReport> {
    let (authority, path) = split_url(url)?;
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let authority = authority.clone();
        let path = path.clone();
        let load = load.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut sender = connect(&authority).await?;
            let mut turn = worker;
            let mut due = load
                .pace
                .map(|pace| start + pace.mul_f64(worker as f64 / connections as f64));
            while Instant::now() < end {
                let path = match &load.paths {
                    Some(paths) if !paths.is_empty() => &paths[turn % paths.len()],
                    _ => &path,
                };
                let request = build_request(&authority, path, &load, turn)?;
                turn += connections;
                let sent = match (due.as_mut(), load.pace) {
                    (Some(due), Some(pace)) => {
                        if *due >= end {
                            break;
                        }
                        let at = *due;
                        *due += pace;
                        if Instant::now() < at {
                            // On time: the latency runs from the actual send, so the
                            // timer's own lateness (up to a millisecond) is not counted.
                            tokio::time::sleep_until(at.into()).await;
                            Instant::now()
                        } else {
                            // Held up by the previous answer: that wait counts.
                            at
                        }
                    }
                    _ => Instant::now(),
                };
                let outcome = async {
                    let response = sender.send_request(request).await?;
                    let status = response.status();
                    response.into_body().collect().await?;
                    anyhow::Ok(status)
                }
                .await;
                let done = Instant::now();
                if sent < measure_from || done > end {
                    continue;
                }
                match outcome {
                    Ok(status) if status.is_success() => {
                        latencies
                            .push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX));
                    }
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        sender = connect(&authority).await?;
                    }
                }
            }
            anyhow::Ok((latencies, errors))
        });
    }
    let mut report = LoadReport {
        latencies_us: Vec::new(),
        errors: 0,
        elapsed: duration,
    };
    while let Some(joined) = workers.join_next().await {
        let (latencies, errors) = joined??;
        report.latencies_us.extend(latencies);
        report.errors += errors;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn bodies_are_the_file_s_lines_and_requests_take_them_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bodies");
        std::fs::write(&file, "{\"a\":1}\n\n{\"b\":2}\n").unwrap();
        let load = Load {
            bodies: Arc::new(read_bodies(&file).unwrap()),
            ..Load::default()
        };
        let mut sent = Vec::new();
        for turn in 0..3 {
            let request = build_request("host", "/", &load, turn).unwrap();
            assert_eq!(request.method(), hyper::Method::POST);
            sent.push(request.into_body().collect().await.unwrap().to_bytes());
        }
        assert_eq!(sent, ["{\"a\":1}", "{\"b\":2}", "{\"a\":1}"]);

        std::fs::write(&file, "\n \n").unwrap();
        assert!(
            read_bodies(&file).is_err(),
            "a file without bodies is refused"
        );
        assert!(read_bodies(&dir.path().join("missing")).is_err());
        let get = build_request("host", "/", &Load::default(), 0).unwrap();
        assert_eq!(get.method(), hyper::Method::GET);
    }
}
