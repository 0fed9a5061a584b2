//! Dutch first, English second. Pages give every text in both languages at the place it
//! is shown (`Lang::pick`), so a missing translation is a compile error, not a blank.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// From an explicit `?lang=` choice, else the browser's `Accept-Language`, else Dutch.
    pub fn choose(explicit: Option<&str>, accept_language: Option<&str>) -> Self {
        match explicit {
            Some("en") => return Self::En,
            Some("nl") => return Self::Nl,
            _ => {}
        }
        let first = accept_language
            .and_then(|header| header.split(',').next())
            .map(|tag| tag.trim().to_ascii_lowercase());
        match first {
            Some(tag) if tag.starts_with("en") => Self::En,
            _ => Self::Nl,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Nl => "nl",
            Self::En => "en",
        }
    }

    /// The text in this language: both are always given, so none can be missing.
    pub fn pick<'a>(self, nl: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Nl => nl,
            Self::En => en,
        }
    }
}

/// Text for a page with the parts that stay Dutch on an English page marked, so that the
/// page can say so (`lang="nl"`, WCAG 3.1.2): what a register describes only in Dutch, or
/// what an employee wrote. Templates show it with `said.html`'s macro.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Said {
    pub(crate) parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) text: String,
    /// Dutch on a page in English.
    pub(crate) dutch: bool,
}

impl Said {
    /// Text in the page's language.
    pub(crate) fn plain(text: impl Into<String>) -> Self {
        Self::default().and(text, false)
    }

    /// Text that is in Dutch whatever the page's language.
    pub(crate) fn dutch(text: impl Into<String>, page: Lang) -> Self {
        Self::default().and(text, page == Lang::En)
    }

    /// This, followed by `text`.
    pub(crate) fn and(mut self, text: impl Into<String>, dutch: bool) -> Self {
        let text = text.into();
        if !text.is_empty() {
            self.parts.push(Part { text, dutch });
        }
        self
    }

    /// This, followed by `other`.
    pub(crate) fn then(mut self, other: Self) -> Self {
        self.parts.extend(other.parts);
        self
    }

    /// `items` in a row, `separator` (in the page's language) between them.
    pub(crate) fn joined(items: impl IntoIterator<Item = Self>, separator: &str) -> Self {
        items
            .into_iter()
            .filter(|item| !item.is_empty())
            .enumerate()
            .fold(Self::default(), |all, (i, item)| {
                all.and(if i == 0 { "" } else { separator }, false)
                    .then(item)
            })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The text without its marks.
    pub(crate) fn text(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect()
    }

    /// The parts marked Dutch, for tests to name them.
    #[cfg(test)]
    pub(crate) fn dutch_parts(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter(|p| p.dutch)
            .map(|p| p.text.as_str())
            .collect()
    }
}

impl From<String> for Said {
    fn from(text: String) -> Self {
        Self::plain(text)
    }
}

/// A stored text's paragraphs in the page's language. A paragraph of the English text
/// that the Dutch text holds as well is not a translation but Dutch in both (an
/// employee's words), and is marked so.
pub(crate) fn paragraphs(nl: &str, en: &str, page: Lang) -> Vec<Said> {
    match page {
        Lang::Nl => split(nl).map(Said::plain).collect(),
        Lang::En => {
            let dutch: Vec<&str> = split(nl).collect();
            split(en)
                .map(|paragraph| Said::default().and(paragraph, dutch.contains(&paragraph)))
                .collect()
        }
    }
}

fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
}

/// The language a path's query chooses (`?lang=en`), if it does; a query that names it
/// twice chooses none (its page refuses it).
pub(crate) fn lang_in(path: &str) -> Option<&str> {
    let (_, query) = path.split_once('?')?;
    let mut named = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("lang="));
    match (named.next(), named.next()) {
        (Some(lang), None) => Some(lang),
        _ => None,
    }
}

/// `path` (which may carry a query) with `lang=code` instead of any language it named, so
/// switching the language keeps what the page was showing (filters, a page number).
/// The path is the request's, also on error pages for addresses no route knows: one that
/// a browser would read as another host (`//evil.example/x`, `/\evil.example`) becomes
/// the start page, so the link never leaves this site.
pub(crate) fn switch_href(path: &str, code: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let (base, query) = if stays_on_this_site(base) {
        (base, query)
    } else {
        ("/", "")
    };
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
        .collect();
    let choice = format!("lang={code}");
    kept.push(&choice);
    format!("{base}?{}", kept.join("&"))
}

/// A path a browser resolves on the current host: one `/`, not followed by another `/` or
/// a backslash (which browsers read as `/`), and nothing that ends the path or adds a scheme.
fn stays_on_this_site(base: &str) -> bool {
    let mut chars = base.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !base.chars().any(|c| c.is_control() || c == '#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_employees_words_in_an_english_text_are_marked_dutch() {
        let nl =
            "U krijgt de vergunning niet.\n\nEr is geen leasecontract.\n\nBezwaar? Binnen 6 weken.";
        let en = "You do not get the permit. The reason, in Dutch:\n\nEr is geen leasecontract.\n\nObject? Within 6 weeks.\n\n";
        let marks = |page| -> Vec<(String, bool)> {
            paragraphs(nl, en, page)
                .into_iter()
                .map(|p| (p.text(), p.parts.iter().any(|part| part.dutch)))
                .collect()
        };
        assert_eq!(
            marks(Lang::En),
            [
                (
                    "You do not get the permit. The reason, in Dutch:".to_owned(),
                    false
                ),
                ("Er is geen leasecontract.".to_owned(), true),
                ("Object? Within 6 weeks.".to_owned(), false),
            ]
        );
        // On a Dutch page nothing is another language.
        assert_eq!(marks(Lang::Nl).len(), 3);
        assert!(marks(Lang::Nl).iter().all(|(_, dutch)| !dutch));
    }

    #[test]
    fn said_joins_its_parts_and_keeps_their_language() {
        let all = Said::joined(
            [
                Said::plain("Dutch"),
                Said::default(),
                Said::dutch("Belgische", Lang::En),
                Said::dutch("Duitse", Lang::Nl),
            ],
            ", ",
        );
        assert_eq!(all.text(), "Dutch, Belgische, Duitse");
        assert_eq!(all.dutch_parts(), ["Belgische"]);
    }

    #[test]
    fn a_query_may_choose_the_language() {
        assert_eq!(lang_in("/zaken/x?lang=en"), Some("en"));
        assert_eq!(lang_in("/zaken/x?pagina=2&lang=nl"), Some("nl"));
        assert_eq!(lang_in("/zaken/x?slang=en"), None);
        assert_eq!(lang_in("/?lang=nl&lang=en"), None);
        assert_eq!(lang_in("/zaken/x"), None);
    }

    #[test]
    fn the_language_switch_keeps_the_query_and_replaces_the_language() {
        assert_eq!(switch_href("/werkplek", "en"), "/werkplek?lang=en");
        assert_eq!(
            switch_href("/werkplek?mijn=ja&pagina=2", "en"),
            "/werkplek?mijn=ja&pagina=2&lang=en"
        );
        assert_eq!(
            switch_href("/aanvragen?lang=en&q=auto", "nl"),
            "/aanvragen?q=auto&lang=nl"
        );
    }

    #[test]
    fn the_language_switch_never_points_to_another_host() {
        assert_eq!(switch_href("//evil.example/x", "en"), "/?lang=en");
        assert_eq!(switch_href("/\\evil.example/x?a=b", "en"), "/?lang=en");
        assert_eq!(switch_href("https://evil.example/", "nl"), "/?lang=nl");
        assert_eq!(switch_href("", "nl"), "/?lang=nl");
        assert_eq!(switch_href("/berichten/", "nl"), "/berichten/?lang=nl");
    }

    proptest::proptest! {
        /// Whatever the request path, the link is a path on this site: one leading `/`,
        /// never `//` or `/\\`, which a browser would follow to another host.
        #[test]
        fn any_path_gives_a_link_on_this_site(path in "[/\\\\a-z.:?=&#%]{0,24}", en in proptest::bool::ANY) {
            let href = switch_href(&path, if en { "en" } else { "nl" });
            let base = href.split('?').next().unwrap_or_default();
            proptest::prop_assert!(base.starts_with('/'), "{href}");
            proptest::prop_assert!(!base.starts_with("//") && !base.starts_with("/\\"), "{href}");
            proptest::prop_assert!(!base.contains('#'), "{href}");
            proptest::prop_assert!(href.ends_with(if en { "lang=en" } else { "lang=nl" }), "{href}");
        }

        /// Any `?lang=`, cookie or `Accept-Language` text gives Dutch or English: an
        /// explicit nl or en always wins, and anything not naming English is Dutch.
        #[test]
        fn any_language_text_gives_dutch_or_english(
            explicit in proptest::option::of(".{0,12}"),
            accept in proptest::option::of(".{0,40}"),
        ) {
            let chosen = Lang::choose(explicit.as_deref(), accept.as_deref());
            match explicit.as_deref() {
                Some("en") => proptest::prop_assert_eq!(chosen, Lang::En),
                Some("nl") => proptest::prop_assert_eq!(chosen, Lang::Nl),
                _ if !accept.as_deref().is_some_and(|a| a.to_ascii_lowercase().contains("en")) => {
                    proptest::prop_assert_eq!(chosen, Lang::Nl);
                }
                _ => {}
            }
            proptest::prop_assert_eq!(Lang::choose(Some(chosen.code()), accept.as_deref()), chosen);
        }
    }

    #[test]
    fn explicit_choice_beats_the_browser() {
        assert_eq!(Lang::choose(Some("en"), Some("nl-NL,nl;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(Some("nl"), Some("en-GB")), Lang::Nl);
    }

    #[test]
    fn browser_language_then_dutch() {
        assert_eq!(Lang::choose(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(None, Some("de-DE")), Lang::Nl);
        assert_eq!(Lang::choose(Some("fr"), None), Lang::Nl);
    }
}
