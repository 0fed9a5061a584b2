//! `loket bench overzicht`: residents logged in to a running demo (through its simulated
//! DigiD, as a browser does) each load their Overzicht again and again: the session, their
//! open cases and letters, and what is coming up (asked through the exchange).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The demo's generated residents (seed 1).
const DEMO_SEED: u64 = 1;

#[allow(clippy::print_stdout)]
pub async fn run(data: PathBuf, sessions: usize, duration: u64) -> anyhow::Result<()> {
    let portal = crate::demo::endpoint(&data, "portal")
        .context("start `loket demo --data DIR` first; this measures against it")?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(sessions)
        .build()?;
    let mut sequence = loket_population::BsnSequence::new(DEMO_SEED);
    let mut cookies = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        cookies.push(log_in(&client, &portal, &sequence.next_bsn()).await?);
    }
    println!("{sessions} residents logged in; measuring {duration} s after 1 s of warm-up");
    let warm_up = Instant::now() + Duration::from_secs(1);
    let end = warm_up + Duration::from_secs(duration);
    let url = format!("{portal}/overzicht");
    let mut workers = tokio::task::JoinSet::new();
    for cookie in cookies {
        let (client, url) = (client.clone(), url.clone());
        workers.spawn(async move {
            let (mut latencies, mut errors) = (Vec::<u32>::new(), 0u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let ok = match client.get(&url).header("cookie", &cookie).send().await {
                    Ok(response) => {
                        let status = response.status();
                        response.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if sent >= warm_up {
                    if ok {
                        latencies
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        });
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while let Some(joined) = workers.join_next().await {
        let (l, e) = joined?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    println!(
        "{} Overzicht pages in {duration} s with {sessions} sessions: {:.0} pages/s, {errors} errors",
        latencies.len(),
        latencies.len() as f64 / duration as f64
    );
    println!(
        "latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        f64::from(crate::bench::percentile(&latencies, 0.50)) / 1000.0,
        f64::from(crate::bench::percentile(&latencies, 0.99)) / 1000.0,
        f64::from(latencies.last().copied().unwrap_or(0)) / 1000.0
    );
    Ok(())
}

/// Log in as `bsn` through the simulated DigiD: the session cookie (`name=token`).
async fn log_in(client: &reqwest::Client, portal: &str, bsn: &str) -> anyhow::Result<String> {
    let form = client
        .get(format!("{portal}/digid-simulatie"))
        .send()
        .await?;
    let anonymous = session_cookie(&form)?;
    let html = form.text().await?;
    let start = html
        .find("name=\"csrf\" value=\"")
        .context("the DigiD simulation has no CSRF field")?
        + 19;
    let csrf = &html[start..start + html[start..].find('"').unwrap_or(0)];
    let answer = client
        .post(format!("{portal}/digid-simulatie"))
        .header("cookie", anonymous)
        .form(&[("csrf", csrf), ("persona", "anders"), ("bsn", bsn)])
        .send()
        .await?;
    if answer.status() != reqwest::StatusCode::SEE_OTHER {
        bail!(
            "logging in as a generated resident failed: {}",
            answer.status()
        );
    }
    session_cookie(&answer)
}

fn session_cookie(response: &reqwest::Response) -> anyhow::Result<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("loket_sessie="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("no session cookie")
}
