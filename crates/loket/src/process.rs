//! The process layer as the binary offers it: the catalogue (built in, or a directory),
//! and `loket apply` and `loket catalogue check` for the counter and for checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use loket_core::{Bsn, SystemClock, TraceContext};
use loket_store::Database;
use loket_zaken::apply::{Application, Applications, Exchange, Gemeente};
use loket_zaken::catalogue::Catalogue;
use loket_zaken::decision::DecisionRecord;
use serde_json::{Map, Value};

/// The catalogue in the repository's `catalogue/`, built into the binary.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "levensgebeurtenissen.toml",
        include_str!("../../../catalogue/levensgebeurtenissen.toml"),
    ),
    (
        "bewonersparkeervergunning.toml",
        include_str!("../../../catalogue/bewonersparkeervergunning.toml"),
    ),
    (
        "bewonersparkeervergunning.regels.toml",
        include_str!("../../../catalogue/bewonersparkeervergunning.regels.toml"),
    ),
];

/// The demo municipality, as the process layer knows it.
pub fn demo_gemeente() -> Gemeente {
    Gemeente {
        code: loket_population::DEMO_GEMEENTE.0.to_owned(),
        naam: loket_population::DEMO_GEMEENTE.1.to_owned(),
        // A fictional RSIN that passes the 11-proef.
        rsin: "123456782".to_owned(),
    }
}

/// The demo's ZGW API clients: the portal reads, the workspace reads and writes, for
/// every product; their secrets are made on first start (`keys/zgw-secrets.json`).
pub fn demo_zaken_api(
    data: &Path,
    catalogue: &Catalogue,
) -> anyhow::Result<crate::platform::ZakenApiSettings> {
    use loket_zaken::zgw_auth::{Client, Clients, Scope};
    let secrets = crate::exchange::tokens(
        data,
        "zgw-secrets.json",
        &["loket-portaal", "loket-werkplek"],
    )?;
    let client = |id: &str, scopes: &[Scope]| -> anyhow::Result<Client> {
        let secret = secrets
            .get(id)
            .with_context(|| format!("no ZGW secret for {id}"))?;
        Ok(Client {
            client_id: id.to_owned(),
            secret: loket_core::Secret::new(secret.clone()),
            autorisaties: catalogue
                .products()
                .iter()
                .map(|p| (p.id.clone(), scopes.to_vec()))
                .collect(),
        })
    };
    Ok(crate::platform::ZakenApiSettings {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: None,
        clients: Clients::new([
            client("loket-portaal", &[Scope::Lezen])?,
            client(
                "loket-werkplek",
                &[
                    Scope::Lezen,
                    Scope::Aanmaken,
                    Scope::Bijwerken,
                    Scope::StatussenToevoegen,
                ],
            )?,
        ]),
    })
}

/// The catalogue in `dir`, or the built-in one. Refuses anything that does not check.
pub fn catalogue(dir: Option<&Path>) -> anyhow::Result<Catalogue> {
    match dir {
        Some(dir) => Ok(Catalogue::load(dir)?),
        None => {
            let files: Vec<(String, String)> = BUILT_IN
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
                .collect();
            Ok(Catalogue::parse(&files)?)
        }
    }
}

#[allow(clippy::print_stdout)]
pub fn check(dir: Option<&Path>) -> anyhow::Result<()> {
    let catalogue = catalogue(dir)?;
    println!(
        "The catalogue is in order: {} product(s), {} life event(s).",
        catalogue.products().len(),
        catalogue.life_events().len()
    );
    for product in catalogue.products() {
        let rules = product.regels.as_ref().map_or(0, |r| r.rules.len());
        println!("  {:<32} {rules} rule(s)", product.id);
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The product's id in the catalogue.
    #[arg(long)]
    product: String,
    /// The applicant's BSN.
    #[arg(long)]
    bsn: String,
    /// An answer to one of the product's questions, as NAME=VALUE (repeatable).
    #[arg(long = "answer", value_parser = parse_answer)]
    answers: Vec<(String, String)>,
    /// A file for one of the product's attachments, as NAME=PATH (repeatable), e.g.
    /// `--document leasedocument=./leaseverklaring.pdf`.
    #[arg(long = "document", value_parser = parse_answer)]
    documents: Vec<(String, String)>,
    /// The demo's data directory: the zaken database and endpoints.json (for the outway).
    #[arg(long, default_value = "./data")]
    data: PathBuf,
    /// A postgres:// URL instead of the SQLite files in --data.
    #[arg(long, env = "LOKET_STORAGE")]
    storage: Option<String>,
    /// The municipality's outway (default: from DATA/endpoints.json).
    #[arg(long)]
    outway: Option<String>,
    /// A catalogue directory instead of the built-in catalogue.
    #[arg(long, env = "LOKET_CATALOGUE")]
    catalogue: Option<PathBuf>,
    /// Print the whole decision record as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_answer(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| "an answer is NAME=VALUE".to_owned())
}

/// Apply on a resident's behalf (at the counter) and print the decision.
#[allow(clippy::print_stdout)]
pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let applicant = Bsn::parse(&args.bsn).map_err(|e| anyhow::anyhow!("--bsn: {e}"))?;
    let storage = match args.storage {
        Some(url) => url.parse().context("--storage")?,
        None => loket_store::StorageUrl::SqliteDir(args.data.clone()),
    };
    let outway = match args.outway {
        Some(outway) => outway,
        None => crate::demo::endpoint(&args.data, "outway")?,
    };
    let database = Database::open(&storage, &loket_zaken::SCHEMA).await?;
    let applications = Applications::new(
        Arc::new(catalogue(args.catalogue.as_deref())?),
        loket_zaken::zaak_store(&database),
        Exchange::new(&outway)?,
        demo_gemeente(),
        Arc::new(SystemClock),
    );
    let form: Map<String, Value> = args
        .answers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut uploads = Vec::new();
    for (naam, path) in args.documents {
        let inhoud = std::fs::read(&path).with_context(|| format!("--document {naam}={path}"))?;
        uploads.push(loket_zaken::bijlage::Upload {
            naam,
            bestandsnaam: path,
            inhoud,
        });
    }
    let application = Application {
        product: args.product,
        applicant,
        form,
        uploads,
    };
    let zaak = match applications
        .apply(&application, &TraceContext::new_root())
        .await
    {
        Ok(zaak) => zaak,
        Err(loket_zaken::apply::ApplyError::Answers(errors)) => {
            let product = applications.catalogue().product(&application.product);
            for error in &errors {
                let is_document =
                    product.is_some_and(|p| p.bijlagen.iter().any(|a| a.naam == error.field));
                let flag = if is_document {
                    "--document"
                } else {
                    "--answer"
                };
                eprintln!("{flag} {}: {}", error.field, error.message.en);
            }
            anyhow::bail!("{} answer(s) need correcting", errors.len());
        }
        Err(error) => return Err(error.into()),
    };
    let record: DecisionRecord = zaak
        .besluit
        .clone()
        .map(serde_json::from_value)
        .transpose()?
        .context("the case has no decision")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "zaak": zaak.uuid,
                "identificatie": zaak.identificatie,
                "besluit": record,
            }))?
        );
        return Ok(());
    }
    println!("{}  {}", zaak.identificatie, record.uitkomst.as_str());
    println!("{}", record.uitleg.nl);
    if let Some(bezwaar) = &record.bezwaar {
        println!("{}", bezwaar.nl);
    }
    for rule in &record.regels {
        println!(
            "  {:<13} {}  ({})",
            serde_json::to_value(rule.uitkomst)?
                .as_str()
                .unwrap_or_default(),
            rule.id,
            rule.grondslag
        );
    }
    for used in &record.gegevens {
        println!(
            "  Bron: {:<8} trace {}{}",
            used.bron,
            used.trace_id,
            used.fout
                .as_deref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// `--answer NAME=VALUE`: the name trimmed, the value whole (an `=` in it kept);
        /// without an `=` the clear message.
        #[test]
        fn an_answer_is_its_name_and_everything_after_the_first_equals_sign(
            name in "[ a-z_]{0,10}",
            value in "\\PC{0,20}",
            without in "[^=]{0,20}",
        ) {
            let (n, v) = super::parse_answer(&format!("{name}={value}")).unwrap();
            proptest::prop_assert_eq!(n, name.trim());
            proptest::prop_assert_eq!(v, value);
            proptest::prop_assert_eq!(super::parse_answer(&without).unwrap_err(), "an answer is NAME=VALUE");
        }
    }
}
