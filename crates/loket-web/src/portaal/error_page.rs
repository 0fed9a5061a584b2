//! The portal's friendly error pages (404, 500, …), in the portal's own layout: same
//! header, menu and language as the page the resident came from.

use std::sync::Arc;

use askama::Template;
use axum::http::HeaderMap;
use loket_core::Problem;
use loket_http::ErrorPages;

use super::views::Layout;
use crate::PortalSettings;

#[derive(Template)]
#[template(path = "portaal/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    not_found: bool,
    bad_request: bool,
}

#[derive(Debug, Clone)]
pub struct PortalErrorPages {
    settings: Arc<PortalSettings>,
}

impl PortalErrorPages {
    pub fn new(settings: PortalSettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }
}

impl ErrorPages for PortalErrorPages {
    fn render(&self, problem: &Problem, headers: &HeaderMap, path: &str) -> String {
        // The page cannot check the session here (no store at hand), so a session cookie
        // only brings the menu back; its links check the session themselves. Without a
        // CSRF token there is no log-out button.
        let has_session = [super::SESSION_COOKIE.hosted, super::SESSION_COOKIE.bare]
            .iter()
            .any(|name| super::cookie(headers, name).is_some());
        let page = ErrorPage {
            layout: Layout {
                lang: super::language(crate::i18n::lang_in(path), headers),
                municipality: self.settings.municipality.clone(),
                demo: self.settings.demo,
                path: path.to_owned(),
                naam: None,
                signed_in: has_session,
                csrf: String::new(),
                unread: 0,
                nav: "",
                resubmit: None,
            },
            status: problem.status,
            not_found: problem.status == 404,
            bad_request: problem.status == 400,
        };
        crate::error_page_or_plain(page.render(), problem.status)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    fn page(cookie: Option<&'static str>) -> String {
        let pages = PortalErrorPages::new(PortalSettings {
            municipality: "Voorbeeldstad".to_owned(),
            demo: false,
        });
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("nl-NL"));
        if let Some(cookie) = cookie {
            headers.insert(header::COOKIE, HeaderValue::from_static(cookie));
        }
        pages.render(&Problem::not_found(), &headers, "/zaken/bestaat-niet")
    }

    #[test]
    fn a_signed_in_resident_keeps_the_menu_and_the_chosen_language() {
        let html = page(Some("loket_sessie=abc; loket_taal=en"));
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(html.contains("This page does not exist"), "{html}");
        assert!(html.contains("href=\"/berichten\""), "{html}");
        assert!(
            html.contains("href=\"/overzicht\">Go to your overview"),
            "{html}"
        );
        assert!(html.contains("/zaken/bestaat-niet?lang=nl"), "{html}");
        // No CSRF token at hand, so no log-out form that would only fail.
        assert!(!html.contains("action=\"/uitloggen\""), "{html}");
    }

    #[test]
    fn a_visitor_gets_the_login_link_and_no_menu() {
        let html = page(None);
        assert!(html.contains("<html lang=\"nl\">"), "{html}");
        assert!(html.contains("Deze pagina bestaat niet"), "{html}");
        assert!(html.contains("href=\"/inloggen\""), "{html}");
        assert!(!html.contains("href=\"/berichten\""), "{html}");
        assert!(html.contains("Foutcode: 404</p>"), "{html}");
        assert!(
            !html.contains("notFound"),
            "no code in English for a resident: {html}"
        );
    }
}
