//! The interaction layer: the resident portal and the employee workspace, server-rendered.
//!
//! Architecture invariants:
//! - never opens a database of a register or of the exchange; what it shows comes from
//!   the process layer (`loket-zaken`) and, for the processing log, from its read API;
//! - every page works without JavaScript; scripts may only enhance;
//! - nothing is loaded from another origin (no fonts, scripts or trackers from elsewhere).

mod i18n;
pub mod oidc;
pub mod portaal;
pub mod werkplek;

pub use i18n::Lang;
pub use portaal::error_page::PortalErrorPages;
pub use portaal::routes as portal_routes;
pub use werkplek::error_page::WerkplekErrorPages;

/// What the portal needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub municipality: String,
    /// Demo mode shows the test-environment banner on every page, and is the only mode in
    /// which the simulated DigiD login exists.
    pub demo: bool,
}
