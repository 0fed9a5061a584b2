// PostgreSQL contract tests exist only when a test server is named; otherwise they are
// reported as ignored, never as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loket_postgres)");
    println!("cargo::rerun-if-env-changed=LOKET_TEST_POSTGRES_URL");
    if std::env::var_os("LOKET_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=loket_postgres");
    }
}
