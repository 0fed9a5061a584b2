//! The workspace's friendly error pages, in the workspace's own layout and language, for
//! an employee's browser; programs keep getting problem+json.

use std::sync::Arc;

use askama::Template;
use axum::http::HeaderMap;
use loket_core::Problem;
use loket_http::ErrorPages;

use super::views::Layout;
use super::{WerkplekSettings, language, session};

/// The problems the workspace words itself, in the page's language (see `check_csrf`,
/// `werk_error`, `oidc_start`); their title is the page's message. Others are generic.
const OWN_WORDS: [&str; 3] = ["csrf", "forbidden", "idp-unavailable"];

#[derive(Template)]
#[template(path = "werkplek/error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    status: u16,
    code: &'a str,
    not_found: bool,
    bad_request: bool,
    own_words: Option<&'a str>,
    signed_in: bool,
}

#[derive(Debug, Clone)]
pub struct WerkplekErrorPages {
    settings: Arc<WerkplekSettings>,
}

impl WerkplekErrorPages {
    pub fn new(settings: WerkplekSettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }
}

impl ErrorPages for WerkplekErrorPages {
    fn render(&self, problem: &Problem, headers: &HeaderMap, path: &str) -> String {
        // No store at hand to check the session: a session cookie only picks the link to
        // the queue, which checks the session itself. No name and no log-out form.
        let signed_in = [session::SESSION_COOKIE.hosted, session::SESSION_COOKIE.bare]
            .iter()
            .any(|name| session::cookie_value(headers, name).is_some());
        let page = ErrorPage {
            layout: Layout::new(
                &self.settings,
                None,
                "",
                language(crate::i18n::lang_in(path), headers),
                path,
            ),
            status: problem.status,
            code: &problem.code,
            not_found: problem.status == 404,
            bad_request: problem.status == 400,
            own_words: OWN_WORDS
                .contains(&problem.code.as_str())
                .then_some(problem.title.as_str()),
            signed_in,
        };
        crate::error_page_or_plain(page.render(), problem.status)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    fn page(problem: &Problem, cookie: Option<&'static str>) -> String {
        let pages = WerkplekErrorPages::new(WerkplekSettings {
            municipality: "Voorbeeldstad".to_owned(),
            demo: false,
            secure_cookies: true,
        });
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("nl-NL"));
        if let Some(cookie) = cookie {
            headers.insert(header::COOKIE, HeaderValue::from_static(cookie));
        }
        pages.render(problem, &headers, "/werkplek/zaken/bestaat-niet")
    }

    #[test]
    fn a_signed_in_employee_gets_the_queue_link_in_the_chosen_language() {
        let html = page(
            &Problem::not_found(),
            Some("werkplek_sessie=abc; werkplek_taal=en"),
        );
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(html.contains("This page does not exist"), "{html}");
        assert!(
            html.contains("href=\"/werkplek\">Go to the work queue"),
            "{html}"
        );
        assert!(
            html.contains("/werkplek/zaken/bestaat-niet?lang=nl"),
            "{html}"
        );
        assert!(!html.contains("uitloggen"), "{html}");
    }

    /// The page's language link works on it: `?lang=` outranks the cookie.
    #[test]
    fn the_query_chooses_the_language_over_the_cookie() {
        let pages = WerkplekErrorPages::new(WerkplekSettings {
            municipality: "Voorbeeldstad".to_owned(),
            demo: false,
            secure_cookies: true,
        });
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("werkplek_taal=en"));
        let html = pages.render(
            &Problem::not_found(),
            &headers,
            "/werkplek/zaken/bestaat-niet?lang=nl",
        );
        assert!(html.contains("<html lang=\"nl\">"), "{html}");
        assert!(
            html.contains("/werkplek/zaken/bestaat-niet?lang=en"),
            "{html}"
        );
    }

    #[test]
    fn a_visitor_gets_the_login_link_and_the_error_code() {
        let html = page(&Problem::internal(), None);
        assert!(html.contains("<html lang=\"nl\">"), "{html}");
        assert!(html.contains("Het lukte niet"), "{html}");
        assert!(html.contains("href=\"/werkplek/inloggen\""), "{html}");
        assert!(html.contains("Foutcode: 500 (serverError)"), "{html}");
    }

    #[test]
    fn the_workspaces_own_refusals_say_what_happened() {
        let refused = Problem::new(403, "forbidden", "Dit mag u met uw rol niet doen.");
        let html = page(&refused, Some("werkplek_sessie=abc"));
        assert!(html.contains("Dit mag u met uw rol niet doen."), "{html}");
        // A generic problem's title is for programs, not for the page.
        let html = page(&Problem::unavailable("BRP"), None);
        assert!(!html.contains("Bronservice"), "{html}");
        assert!(html.contains("Het lukte niet"), "{html}");
    }
}
