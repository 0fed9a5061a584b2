//! The interaction layer: the resident portal and the employee workspace, server-rendered.
//!
//! Architecture invariants:
//! - never opens a database of a register or of the exchange; what it shows comes from
//!   the process layer (`loket-zaken`) and, for the processing log, from its read API;
//! - every page works without JavaScript; scripts may only enhance;
//! - nothing is loaded from another origin (no fonts, scripts or trackers from elsewhere).

mod cookies;
mod i18n;
pub mod oidc;
pub mod portaal;
pub mod werkplek;

pub use i18n::Lang;
pub use portaal::error_page::PortalErrorPages;
pub use portaal::routes as portal_routes;
pub use werkplek::error_page::WerkplekErrorPages;

/// An error page as rendered, or, if it could not render itself, a plain one: the
/// visitor is still owed an answer.
pub(crate) fn error_page_or_plain(rendered: askama::Result<String>, status: u16) -> String {
    rendered.unwrap_or_else(|_| {
        format!(
            "<!doctype html><html lang=\"nl\"><title>Fout {status}</title><h1>Fout {status}</h1></html>"
        )
    })
}

/// What the portal needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub municipality: String,
    /// Demo mode shows the test-environment banner on every page, and is the only mode in
    /// which the simulated DigiD login exists.
    pub demo: bool,
}
