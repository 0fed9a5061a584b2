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

#[cfg(test)]
mod tests {
    use super::*;

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
