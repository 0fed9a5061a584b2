//! Dutch first, English second. Every text a page shows lives here, in both languages,
//! so a missing translation is a compile error rather than a blank on the page.

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

    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Nl => &NL,
            Self::En => &EN,
        }
    }
}

#[derive(Debug)]
pub struct Texts {
    pub skip_link: &'static str,
    pub test_banner: &'static str,
    pub other_language_name: &'static str,
    pub other_language_code: &'static str,
    pub other_language_label: &'static str,
    pub contact_phone: &'static str,
    pub footer_contact: &'static str,
    pub footer_privacy: &'static str,
    pub footer_accessibility: &'static str,
    pub error_title: &'static str,
    pub error_not_found: &'static str,
    pub error_generic: &'static str,
    pub error_next: &'static str,
    pub error_home: &'static str,
    pub error_code_label: &'static str,
}

static NL: Texts = Texts {
    skip_link: "Direct naar de inhoud",
    test_banner: "Testomgeving — dit is geen echte gemeente. Gebruik geen echte gegevens.",
    other_language_name: "English",
    other_language_code: "en",
    other_language_label: "Read this page in English",
    contact_phone: "Bel 14 0000, op werkdagen van 8.00 tot 17.00 uur.",
    footer_contact: "Contact",
    footer_privacy: "Privacyverklaring",
    footer_accessibility: "Toegankelijkheid",
    error_title: "Er ging iets mis",
    error_not_found: "Deze pagina bestaat niet. Misschien is het adres verkeerd getypt, of is de pagina verplaatst.",
    error_generic: "Het lukte niet om uw verzoek af te handelen.",
    error_next: "Wat kunt u doen?",
    error_home: "Ga naar de startpagina",
    error_code_label: "Foutcode",
};

static EN: Texts = Texts {
    skip_link: "Skip to main content",
    test_banner: "Test environment — this is not a real municipality. Do not use real personal data.",
    other_language_name: "Nederlands",
    other_language_code: "nl",
    other_language_label: "Lees deze pagina in het Nederlands",
    contact_phone: "Call 14 0000, on working days from 8:00 to 17:00.",
    footer_contact: "Contact",
    footer_privacy: "Privacy statement",
    footer_accessibility: "Accessibility",
    error_title: "Something went wrong",
    error_not_found: "This page does not exist. The address may be mistyped, or the page has moved.",
    error_generic: "We could not handle your request.",
    error_next: "What can you do?",
    error_home: "Go to the start page",
    error_code_label: "Error code",
};

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
