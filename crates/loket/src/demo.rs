//! `loket demo`: the whole platform on embedded SQLite, no configuration needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use loket_store::StorageUrl;

use crate::logging::{self, LogFormat};
use crate::platform::{Platform, PlatformSettings};

pub const DEMO_MUNICIPALITY: &str = "Gemeente Voorbeeldstad";

pub async fn run(listen: SocketAddr, data: PathBuf) -> anyhow::Result<()> {
    logging::init(LogFormat::Text);
    let first_start = !data.join("zaken.db").exists();
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let settings = PlatformSettings {
        storage: StorageUrl::SqliteDir(data.clone()),
        portal_listen: listen,
        municipality: DEMO_MUNICIPALITY.to_owned(),
        demo: true,
    };
    let platform = Platform::start(settings).await?;
    write_endpoints(&data, &platform).await?;
    print_welcome(&platform, &data, first_start);
    platform.run_until_signal().await
}

/// `DIR/endpoints.json` names every service and its base URL, for tools and newcomers.
/// Written to a temporary file first, so a reader never sees half of it.
async fn write_endpoints(data: &Path, platform: &Platform) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(&platform.endpoints)?;
    let target = data.join("endpoints.json");
    let partial = data.join("endpoints.json.partial");
    tokio::fs::write(&partial, json)
        .await
        .context("cannot write endpoints.json")?;
    tokio::fs::rename(&partial, &target)
        .await
        .context("cannot write endpoints.json")?;
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_welcome(platform: &Platform, data: &Path, first_start: bool) {
    let portal = platform.endpoints.get("portal").map_or("?", String::as_str);
    let store = if first_start { "created" } else { "reused" };
    println!();
    println!("  Loket demo — {DEMO_MUNICIPALITY} (test environment, synthetic data only)");
    println!();
    println!("  Portal:     {portal}/");
    println!("  Health:     {portal}/healthz   Ready: {portal}/readyz   Metrics: {portal}/metrics");
    println!("  Data:       {} ({store})", data.display());
    println!("  Endpoints:  {}", data.join("endpoints.json").display());
    println!();
    println!("  Logging in with the simulated DigiD arrives with the portal (issue 6).");
    println!("  Stop with Ctrl-C.");
    println!();
}
