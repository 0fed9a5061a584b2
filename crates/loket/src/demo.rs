//! `loket demo`: the whole platform on embedded SQLite, no configuration needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use loket_store::StorageUrl;

use crate::logging::{self, LogFormat};
use crate::platform::{Platform, PlatformSettings, PortalWiring, RegisterName};
use crate::seed::Targets;

pub const DEMO_MUNICIPALITY: &str = "Gemeente Voorbeeldstad";

pub async fn run(
    listen: SocketAddr,
    data: PathBuf,
    catalogue: Option<PathBuf>,
) -> anyhow::Result<()> {
    let _log_writer = logging::init(LogFormat::Text);
    // A catalogue that does not check stops the start, before anything else happens.
    let catalogue = crate::process::catalogue(catalogue.as_deref())?;
    tracing::info!(products = catalogue.products().len(), "catalogue loaded");
    let first_start = !data.join("zaken.db").exists();
    crate::synthetic::claim(&data)?;
    if !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "the demo's portal is open to other machines: anyone who reaches it can log in as any resident with the simulated DigiD"
        );
    }
    let storage = StorageUrl::SqliteDir(data.clone());
    let mut platform = Platform::new();
    let mut handles = Vec::new();
    for name in RegisterName::ALL {
        handles.push(
            platform
                .add_register(name, &storage, loopback_any_port())
                .await?,
        );
    }
    seed(&Targets::from_handles(&handles)?).await?;
    crate::werkplek::demo_accounts(&storage, &data).await?;
    let zaken_api = crate::process::demo_zaken_api(&data, &catalogue)?;
    let assertions = assertion_signer(&data)?;
    let logs =
        crate::exchange::start(&mut platform, &data, &storage, assertions.public_key()).await?;
    let settings = PlatformSettings {
        storage: storage.clone(),
        portal_listen: Some(listen),
        registers: Vec::new(),
        municipality: DEMO_MUNICIPALITY.to_owned(),
        gemeente: crate::process::demo_gemeente(),
        demo: true,
        catalogue: std::sync::Arc::new(catalogue),
        // The workspace on the port after the portal's (any free port when that is 0).
        werkplek_listen: Some(next_port(listen)),
        werkplek_oidc: None,
        zaken_api: Some(zaken_api),
        exchange: None,
        portal: PortalWiring {
            outway: platform.endpoints.get("outway").cloned(),
            logs,
            session_key: session_key(&data)?,
            assertions: Some(assertions),
            personas: personas(),
            digid: None,
            activities: crate::platform::built_in_portal_activities(),
            municipality_oin: crate::exchange::GEMEENTE_OIN.to_owned(),
            known_activities: crate::platform::known_activities(&crate::exchange::activities()?),
        },
        operations_listen: None,
    };
    platform.add_platform(settings).await?;
    // Last, so that its /readyz checks every service above.
    platform.add_operations(loopback_any_port()).await?;
    write_endpoints(&data, &platform).await?;
    print_welcome(&platform, &data, first_start);
    platform.run_until_signal().await
}

/// The key that seals residents' sessions, made on first start (`keys/`).
fn session_key(data: &Path) -> anyhow::Result<loket_core::Secret<Vec<u8>>> {
    let keys = crate::exchange::tokens(data, "portaal-sessiesleutel.json", &["sessies"])?;
    let key = keys.get("sessies").context("no session key")?;
    Ok(loket_core::Secret::new(key.as_bytes().to_vec()))
}

/// The portal's key for its resident assertions, made on first start (`keys/`).
pub fn assertion_signer(
    data: &Path,
) -> anyhow::Result<std::sync::Arc<loket_core::resident_assertion::AssertionSigner>> {
    let keys = crate::exchange::tokens(data, "portaal-inzagesleutel.json", &["inzage"])?;
    let secret = keys.get("inzage").context("no resident assertion key")?;
    Ok(std::sync::Arc::new(
        loket_core::resident_assertion::AssertionSigner::from_secret(&loket_core::Secret::new(
            secret.clone(),
        ))?,
    ))
}

/// The personas the simulated DigiD offers, with what each is for.
fn personas() -> Vec<loket_web::portaal::DemoPersona> {
    let municipality = loket_population::Municipality::from_code(loket_population::DEMO_GEMEENTE.0);
    let today = loket_core::dutch_today(&loket_core::SystemClock);
    loket_population::personas(today, &municipality)
        .0
        .into_iter()
        .map(|p| loket_web::portaal::DemoPersona {
            bsn: p.bsn.to_owned(),
            naam: p.name,
            nl: p.purpose_nl.to_owned(),
            en: p.purpose_en.to_owned(),
        })
        .collect()
}

fn next_port(listen: SocketAddr) -> SocketAddr {
    let port = match listen.port() {
        0 => 0,
        port => port.saturating_add(1),
    };
    SocketAddr::new(listen.ip(), port)
}

/// Registers listen on loopback only, on a free port; endpoints.json says which.
fn loopback_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Residents the demo generates on first start, besides the personas.
const DEMO_RESIDENTS: u64 = 20_000;

/// Fill empty registers with the personas and a generated municipality.
async fn seed(targets: &Targets) -> anyhow::Result<()> {
    if targets.brp.0.count().await? == 0 {
        let started = std::time::Instant::now();
        let municipality =
            loket_population::Municipality::from_code(loket_population::DEMO_GEMEENTE.0);
        let today = loket_core::dutch_today(&loket_core::SystemClock);
        let loaded =
            crate::seed::load(targets, DEMO_RESIDENTS, 1, &municipality, today, |_| {}).await?;
        tracing::info!(
            persons = loaded.personen,
            reisdocumenten = loaded.reisdocumenten,
            voertuigen = loaded.voertuigen,
            inschrijvingen = loaded.inschrijvingen,
            inkomenssituaties = loaded.inkomenssituaties,
            seconds = started.elapsed().as_secs_f64(),
            "seeded the registers"
        );
    }
    Ok(())
}

/// The base URL of `service` in a running demo's `DIR/endpoints.json`.
pub fn endpoint(data: &Path, service: &str) -> anyhow::Result<String> {
    let path = data.join("endpoints.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (is `loket demo` running?)", path.display()))?;
    let endpoints: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)?;
    endpoints
        .get(service)
        .cloned()
        .with_context(|| format!("{} names no {service}", path.display()))
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
    if let Some(werkplek) = platform.endpoints.get("werkplek") {
        println!(
            "  Werkplek:   {werkplek}/werkplek  (employees: {}; passwords in {})",
            crate::werkplek::DEMO_STAFF
                .iter()
                .map(|(id, _, role)| format!("{id} = {}", role.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            data.join("keys")
                .join(crate::werkplek::DEMO_PASSWORDS_FILE)
                .display()
        );
    }
    let operations = platform
        .endpoints
        .get("operations")
        .map_or("?", String::as_str);
    println!(
        "  Health:     {portal}/healthz   Ready: {operations}/readyz   Metrics: {operations}/metrics"
    );
    println!("  Data:       {} ({store})", data.display());
    println!("  Endpoints:  {}", data.join("endpoints.json").display());
    println!();
    for (name, url) in &platform.endpoints {
        if *name != "portal" && *name != "werkplek" {
            println!("  {name:<11} {url}");
        }
    }
    println!();
    println!("  Personas (synthetic residents) to try: `loket personas`. The municipality asks");
    println!("  the registers through its outway, stating why (the exchange checks the grant):");
    println!(
        "    curl -s {}/brp-personen{} -H 'content-type: application/json' \\",
        platform.endpoints.get("outway").map_or("", String::as_str),
        loket_registers::brp::PERSONEN_PATH
    );
    println!(
        "      -H 'fsc-processing-activity: {}' \\",
        crate::exchange::PARKEREN
    );
    println!(
        "      -d '{{\"type\":\"RaadpleegMetBurgerservicenummer\",\"burgerservicenummer\":[\"999990007\"],\"fields\":[\"naam\",\"verblijfplaats\"]}}'"
    );
    println!(
        "  Who used Sanne's data: {}/lezenapi/v1/processing-activities (token in {}).",
        platform
            .endpoints
            .get("logboek-gemeente")
            .map_or("", String::as_str),
        data.join("keys/inzage-tokens.json").display()
    );
    println!();
    println!("  Log in at {portal}/inloggen with the simulated DigiD: choose Sanne de Vries to");
    println!("  apply for a parking permit (a test environment: it runs only in demo mode).");
    println!("  Stop with Ctrl-C.");
    println!();
}
