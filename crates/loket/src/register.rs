//! `loket register NAME` and `loket personas`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use loket_store::StorageUrl;

use crate::logging::{self, LogFormat};
use crate::platform::{Platform, RegisterName};

pub async fn run(
    name: RegisterName,
    listen: SocketAddr,
    data: PathBuf,
    storage: Option<String>,
) -> anyhow::Result<()> {
    let _log_writer = logging::init(LogFormat::Text);
    let storage: StorageUrl = match storage {
        Some(url) => url.parse().context("--storage")?,
        None => StorageUrl::SqliteDir(data),
    };
    let mut platform = Platform::new();
    let handle = platform.add_register(name, &storage, listen).await?;
    let count = handle.count().await?;
    tracing::info!(register = ?name, items = count, "register ready");
    platform.run_until_signal().await
}

#[allow(clippy::print_stdout)]
pub fn print_personas(json: bool) -> anyhow::Result<()> {
    let today = loket_core::dutch_today(&loket_core::SystemClock);
    let (personas, _) = loket_population::personas(
        today,
        &loket_population::Municipality::from_code(loket_population::DEMO_GEMEENTE.0),
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&personas)?);
    } else {
        for persona in personas {
            println!(
                "{}  {:<20} {}",
                persona.bsn, persona.name, persona.purpose_nl
            );
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub fn print_openapi(name: RegisterName) -> anyhow::Result<()> {
    use loket_registers::{brp, duo, inkomen, rdw, reisdocumenten};
    let document = match name {
        RegisterName::Brp => brp::openapi_document(),
        RegisterName::Reisdocumenten => reisdocumenten::API.openapi_document(),
        RegisterName::Rdw => rdw::API.openapi_document(),
        RegisterName::Duo => duo::API.openapi_document(),
        RegisterName::Inkomen => inkomen::API.openapi_document(),
    };
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
