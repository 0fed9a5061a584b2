use std::sync::Arc;

use askama::Template;
use loket_core::Problem;
use loket_http::ErrorPages;

use crate::PortalSettings;
use crate::i18n::{Lang, Texts};

/// What every page's layout needs.
struct Layout<'a> {
    lang: Lang,
    t: &'static Texts,
    municipality: &'a str,
    demo: bool,
    /// The current path, for the language switch link.
    path: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    status: u16,
    code: &'a str,
    not_found: bool,
}

fn layout<'a>(settings: &'a PortalSettings, lang: Lang, path: &'a str) -> Layout<'a> {
    Layout {
        lang,
        t: lang.texts(),
        municipality: &settings.municipality,
        demo: settings.demo,
        path,
    }
}

/// The portal's friendly error pages, in the portal's own layout.
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
    fn render(&self, problem: &Problem, accept_language: Option<&str>) -> String {
        let lang = Lang::choose(None, accept_language);
        let page = ErrorPage {
            layout: layout(&self.settings, lang, "/"),
            status: problem.status,
            code: &problem.code,
            not_found: problem.status == 404,
        };
        // A page that cannot render itself still owes the visitor an answer.
        page.render().unwrap_or_else(|_| {
            format!(
                "<!doctype html><html lang=\"nl\"><title>Fout {0}</title><h1>Fout {0}</h1></html>",
                problem.status
            )
        })
    }
}
