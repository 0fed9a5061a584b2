//! Production configuration: a TOML file, overridden by `LOKET_*` environment variables
//! (`LOKET_STORAGE__URL`, `LOKET_PORTAL__LISTEN`, …). Any key may instead be given as a
//! file with the `_file` suffix (`storage.url_file`, `LOKET_STORAGE__URL_FILE`), for
//! secrets mounted by an orchestrator.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use loket_core::Secret;
use loket_store::StorageUrl;
use serde::Deserialize;

use crate::logging::LogFormat;
use crate::platform::{PlatformSettings, RegisterName};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    municipality: String,
    storage: RawStorage,
    portal: RawPortal,
    /// The employee workspace (serve it on an internal network only).
    #[serde(default)]
    werkplek: Option<RawPortal>,
    /// Run registers in-process (for test environments; production asks RvIG's, RDW's, …).
    #[serde(default)]
    brp: Option<RawRegister>,
    #[serde(default)]
    reisdocumenten: Option<RawRegister>,
    #[serde(default)]
    rdw: Option<RawRegister>,
    #[serde(default)]
    duo: Option<RawRegister>,
    #[serde(default)]
    inkomen: Option<RawRegister>,
    #[serde(default)]
    log: RawLog,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    /// `sqlite:DIR` or `postgres://…`; may hold a password, hence secret.
    url: Secret<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    listen: SocketAddr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    listen: SocketAddr,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    #[serde(default)]
    format: LogFormat,
}

#[derive(Debug)]
pub struct Config {
    pub platform: PlatformSettings,
    pub log_format: LogFormat,
}

pub fn load(path: &Path) -> anyhow::Result<Config> {
    if !path.is_file() {
        bail!("configuration file {} does not exist", path.display());
    }
    // `_file` keys are resolved per source, so that an environment variable (either form)
    // overrides the file's value (either form), and one source naming both is an error.
    let mut from_file: Dict = Figment::from(Toml::file(path))
        .extract()
        .with_context(|| format!("cannot read {}", path.display()))?;
    resolve_files(&mut from_file, "")?;
    // Only nested keys (LOKET_STORAGE__URL) and known top-level ones, so that unrelated
    // LOKET_* variables (LOKET_CONFIG, LOKET_TEST_POSTGRES_URL) are not taken for settings.
    let env = Env::prefixed("LOKET_")
        .filter(|key| key.as_str().contains("__") || key == "municipality")
        .split("__");
    let mut from_env: Dict = Figment::from(env)
        .extract()
        .context("cannot read LOKET_* environment variables")?;
    resolve_files(&mut from_env, "LOKET_")?;
    let raw: RawConfig = Figment::from(Serialized::defaults(from_file))
        .merge(Serialized::defaults(from_env))
        .extract()
        .with_context(|| {
            format!(
                "invalid configuration in {} or LOKET_* variables",
                path.display()
            )
        })?;
    let storage: StorageUrl = raw.storage.url.expose().parse().context("storage.url")?;
    Ok(Config {
        platform: PlatformSettings {
            storage,
            portal_listen: raw.portal.listen,
            registers: [
                (RegisterName::Brp, raw.brp),
                (RegisterName::Reisdocumenten, raw.reisdocumenten),
                (RegisterName::Rdw, raw.rdw),
                (RegisterName::Duo, raw.duo),
                (RegisterName::Inkomen, raw.inkomen),
            ]
            .into_iter()
            .filter_map(|(name, register)| register.map(|r| (name, r.listen)))
            .collect(),
            municipality: raw.municipality,
            demo: false,
            catalogue: std::sync::Arc::new(crate::process::catalogue(None)?),
            werkplek_listen: raw.werkplek.map(|w| w.listen),
            zaken_api: None,
        },
        log_format: raw.log.format,
    })
}

/// Replace every `name_file = "/path"` by `name = <contents of /path>`.
fn resolve_files(dict: &mut Dict, prefix: &str) -> anyhow::Result<()> {
    let file_keys: Vec<String> = dict
        .keys()
        .filter(|k| k.ends_with("_file"))
        .cloned()
        .collect();
    for file_key in file_keys {
        let name = file_key.trim_end_matches("_file").to_owned();
        if dict.contains_key(&name) {
            bail!("both {prefix}{name} and {prefix}{file_key} are set; use one");
        }
        let Some(Value::String(_, path)) = dict.remove(&file_key) else {
            bail!("{prefix}{file_key} must be a file path");
        };
        let contents = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {prefix}{file_key} ({path})"))?;
        // Secret files usually end in a newline that is not part of the secret.
        let value = contents.trim_end_matches(['\n', '\r']).to_owned();
        dict.insert(name, Value::from(value));
    }
    for (key, value) in dict.iter_mut() {
        if let Value::Dict(_, child) = value {
            resolve_files(child, &format!("{prefix}{key}."))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn reads_toml_and_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "db-url", "postgres://loket:hunter2@db/loket\n");
        let config = write(
            dir.path(),
            "loket.toml",
            &format!(
                "municipality = \"Gemeente Test\"\n[storage]\nurl_file = \"{}\"\n[portal]\nlisten = \"0.0.0.0:8080\"\n",
                secret.display()
            ),
        );
        let loaded = load(&config).unwrap();
        assert!(
            matches!(&loaded.platform.storage, StorageUrl::Postgres(url) if url.expose() == "postgres://loket:hunter2@db/loket")
        );
        assert_eq!(loaded.platform.portal_listen.port(), 8080);
        assert_eq!(loaded.log_format, LogFormat::Json);
        assert!(
            !format!("{loaded:?}").contains("hunter2"),
            "secrets must not show in Debug"
        );
    }

    #[test]
    fn refuses_unknown_keys_and_double_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write(
            dir.path(),
            "typo.toml",
            "municipality = \"X\"\n[storage]\nurl = \"sqlite:/tmp/x\"\n[portal]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n",
        );
        assert!(format!("{:#}", load(&typo).unwrap_err()).contains("listne"));
        let both = write(
            dir.path(),
            "both.toml",
            "municipality = \"X\"\n[storage]\nurl = \"sqlite:/tmp/x\"\nurl_file = \"/nope\"\n[portal]\nlisten = \"127.0.0.1:1\"\n",
        );
        assert!(format!("{:#}", load(&both).unwrap_err()).contains("use one"));
    }
}
