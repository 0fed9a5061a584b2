//! The layering rule, checked: a crate depends only on the crates below it.
//! A new crate must be added to `ALLOWED` (and to ARCHITECTURE.md) before it can build green.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may use (normal and build dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("loket-core", &[]),
    ("loket-store", &["loket-core"]),
    ("loket-http", &["loket-core"]),
    (
        "loket-registers",
        &["loket-core", "loket-store", "loket-http"],
    ),
    ("loket-population", &["loket-registers"]),
    // The integration layer: it never links a register; registers are reached over HTTP.
    (
        "loket-logboek",
        &["loket-core", "loket-store", "loket-http"],
    ),
    (
        "loket-exchange",
        &["loket-core", "loket-store", "loket-http", "loket-logboek"],
    ),
    // The process layer reaches registers only through the exchange's outway, over HTTP.
    ("loket-zaken", &["loket-core", "loket-store", "loket-http"]),
    (
        "loket-web",
        &["loket-core", "loket-store", "loket-http", "loket-zaken"],
    ),
    // Only the binary knows every crate.
    (
        "loket",
        &[
            "loket-core",
            "loket-store",
            "loket-http",
            "loket-zaken",
            "loket-web",
            "loket-registers",
            "loket-population",
            "loket-logboek",
            "loket-exchange",
        ],
    ),
];

#[test]
fn crates_depend_only_downward() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();

    for package in packages {
        let name = package["name"].as_str().unwrap();
        let Some(permitted) = allowed.get(name) else {
            panic!("crate {name} is not in the layering table; add it here and to ARCHITECTURE.md");
        };
        for dependency in package["dependencies"].as_array().unwrap() {
            let target = dependency["name"].as_str().unwrap();
            let is_dev = dependency["kind"].as_str() == Some("dev");
            if members.contains(target) && !is_dev && target != name {
                assert!(
                    permitted.contains(&target),
                    "{name} may not depend on {target} (see ARCHITECTURE.md)"
                );
            }
        }
    }
}
