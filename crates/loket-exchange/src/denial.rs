//! Why the exchange refuses a request: an FSC-style error code, a status, and a
//! problem+json body, all from one place.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use loket_core::Problem;
use loket_http::ApiError;

pub const FSC_ERROR_CODE: HeaderName = HeaderName::from_static("fsc-error-code");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The connection carries no (valid) client certificate.
    NoCertificate,
    /// The peer is not in the directory.
    UnknownPeer,
    GrantHashMissing,
    /// No active contract holds this grant (unknown, revoked or not yet accepted).
    GrantNotFound,
    GrantExpired,
    /// The grant is for another organisation or another outway key.
    WrongPeer,
    WrongThumbprint,
    /// The grant is for a service this inway does not offer, or the outway has none.
    ServiceNotFound,
    ProcessingActivityMissing,
    ProcessingActivityNotGranted,
    FieldNotGranted,
    /// The grant is limited to fields, and the request is not a query (`POST`) whose
    /// fields can be checked.
    MethodNotGranted,
    /// The body asks for more fields than one request may ([`crate::MAX_FIELDS`]), or
    /// names one longer than [`crate::MAX_FIELD_NAME`].
    TooManyFields,
    /// The request body cannot be checked against the grant's fields.
    BodyUnreadable,
    /// The body is over the gateway's limit (1 MiB).
    BodyTooLarge,
    /// The body names `fields` or `burgerservicenummer` more than once, or the request
    /// has two content types or one the gateway cannot read.
    BodyAmbiguous,
    /// The body names more BSNs than one request may ([`crate::MAX_SUBJECTS`]).
    TooManySubjects,
    /// The register's answer names more residents than one answer may
    /// ([`crate::MAX_ANSWER_SUBJECTS`]); it was withheld.
    AnswerTooManySubjects,
    /// The answer says it is JSON (or must be: the inway asked for the subject field)
    /// but cannot be read, so whose data it holds is not known; it was withheld.
    AnswerUnreadable,
    LogUnavailable,
    ServiceUnreachable,
}

impl Denial {
    /// Every denial; a new variant goes here too, or `from_code` will not know its code.
    pub const ALL: [Self; 21] = [
        Self::NoCertificate,
        Self::UnknownPeer,
        Self::GrantHashMissing,
        Self::GrantNotFound,
        Self::GrantExpired,
        Self::WrongPeer,
        Self::WrongThumbprint,
        Self::ServiceNotFound,
        Self::ProcessingActivityMissing,
        Self::ProcessingActivityNotGranted,
        Self::FieldNotGranted,
        Self::MethodNotGranted,
        Self::TooManyFields,
        Self::BodyUnreadable,
        Self::BodyTooLarge,
        Self::BodyAmbiguous,
        Self::TooManySubjects,
        Self::AnswerTooManySubjects,
        Self::AnswerUnreadable,
        Self::LogUnavailable,
        Self::ServiceUnreachable,
    ];

    /// The denial with this `Fsc-Error-Code`, if it is one of ours: what another
    /// organisation's inway answers goes into this log only as a code we know.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|denial| denial.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::NoCertificate => "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED",
            Self::UnknownPeer => "ERROR_CODE_UNKNOWN_PEER",
            Self::GrantHashMissing => "ERROR_CODE_GRANT_HASH_MISSING",
            Self::GrantNotFound => "ERROR_CODE_GRANT_NOT_FOUND",
            Self::GrantExpired => "ERROR_CODE_GRANT_EXPIRED",
            Self::WrongPeer => "ERROR_CODE_WRONG_PEER",
            Self::WrongThumbprint => "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT",
            Self::ServiceNotFound => "ERROR_CODE_SERVICE_NOT_FOUND",
            Self::ProcessingActivityMissing => "ERROR_CODE_PROCESSING_ACTIVITY_MISSING",
            Self::ProcessingActivityNotGranted => "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
            Self::FieldNotGranted => "ERROR_CODE_FIELD_NOT_GRANTED",
            Self::MethodNotGranted => "ERROR_CODE_METHOD_NOT_GRANTED",
            Self::TooManyFields => "ERROR_CODE_TOO_MANY_FIELDS",
            Self::BodyUnreadable => "ERROR_CODE_BODY_UNREADABLE",
            Self::BodyTooLarge => "ERROR_CODE_BODY_TOO_LARGE",
            Self::BodyAmbiguous => "ERROR_CODE_BODY_AMBIGUOUS",
            Self::TooManySubjects => "ERROR_CODE_TOO_MANY_SUBJECTS",
            Self::AnswerTooManySubjects => "ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS",
            Self::AnswerUnreadable => "ERROR_CODE_ANSWER_UNREADABLE",
            Self::LogUnavailable => "ERROR_CODE_LOG_UNAVAILABLE",
            Self::ServiceUnreachable => "ERROR_CODE_SERVICE_UNREACHABLE",
        }
    }

    fn problem(self) -> Problem {
        let (status, detail) = match self {
            Self::NoCertificate => (401, "Een geldig clientcertificaat is verplicht."),
            Self::UnknownPeer => (403, "Deze organisatie staat niet in de directory."),
            Self::GrantHashMissing => (
                401,
                "De header Fsc-Grant-Hash ontbreekt, staat er meer dan eens of is langer dan 512 tekens.",
            ),
            Self::GrantNotFound => (
                403,
                "Er is geen geldig contract met deze grant (onbekend, ingetrokken of nog niet geaccepteerd).",
            ),
            Self::GrantExpired => (403, "Het contract met deze grant is niet (meer) geldig."),
            Self::WrongPeer => (403, "Deze grant is voor een andere organisatie."),
            Self::WrongThumbprint => (403, "Deze grant is voor een ander certificaat."),
            Self::ServiceNotFound => (
                404,
                "Deze dienst wordt hier niet aangeboden of is niet bekend.",
            ),
            Self::ProcessingActivityMissing => (
                403,
                "Noem de verwerkingsactiviteit, één keer en in hoogstens 512 tekens, in de header Fsc-Processing-Activity.",
            ),
            Self::ProcessingActivityNotGranted => (
                403,
                "De genoemde verwerkingsactiviteit staat niet in de grant.",
            ),
            Self::FieldNotGranted => (403, "Er worden velden gevraagd die de grant niet toestaat."),
            Self::MethodNotGranted => (
                403,
                "Deze grant is beperkt tot bepaalde velden en staat alleen zoekvragen toe: POST met een JSON-body met fields.",
            ),
            Self::TooManyFields => (
                400,
                "Het verzoek vraagt meer dan 130 velden, of een veld met een naam van meer dan 200 tekens.",
            ),
            Self::BodyUnreadable => (400, "De body is geen geldige JSON met een lijst fields."),
            Self::BodyTooLarge => (413, "De body is groter dan 1 MiB."),
            Self::BodyAmbiguous => (
                400,
                "De body noemt fields of burgerservicenummer meer dan eens, of het verzoek heeft meer dan één of een onleesbaar Content-Type.",
            ),
            Self::TooManySubjects => (
                400,
                "Het verzoek noemt meer dan 100 burgerservicenummers; verdeel het over meer verzoeken.",
            ),
            Self::AnswerTooManySubjects => (
                502,
                "Het verzoek en het antwoord samen gaan over meer dan 1000 personen; het antwoord is daarom niet doorgegeven. Vraag naar minder personen tegelijk, of zoek gerichter.",
            ),
            Self::AnswerUnreadable => (
                502,
                "Het antwoord van de dienst is geen leesbare JSON; het is daarom niet doorgegeven.",
            ),
            Self::LogUnavailable => (
                503,
                "Het verwerkingenlogboek kan niet schrijven; het verzoek is daarom niet uitgevoerd.",
            ),
            Self::ServiceUnreachable => (502, "De dienst is niet bereikbaar."),
        };
        let title = match (self, status) {
            (Self::AnswerTooManySubjects | Self::AnswerUnreadable, _) => {
                "Het antwoord is niet doorgegeven."
            }
            (_, 400) => "Het verzoek is niet correct.",
            (_, 401) => "Niet geauthenticeerd.",
            (_, 403) => "Geen toegang.",
            (_, 404) => "Niet gevonden.",
            (_, 413) => "Het verzoek is te groot.",
            (_, 502) => "De bronservice gaf geen antwoord.",
            _ => "De dienst is tijdelijk niet beschikbaar.",
        };
        Problem::new(status, self.code(), title).with_detail(detail)
    }
}

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        let mut response = ApiError::from(self.problem()).into_response();
        response
            .headers_mut()
            .insert(FSC_ERROR_CODE, HeaderValue::from_static(self.code()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_read_back() {
        for denial in Denial::ALL {
            assert_eq!(Denial::from_code(denial.code()), Some(denial));
        }
        let codes: std::collections::BTreeSet<_> = Denial::ALL.iter().map(|d| d.code()).collect();
        assert_eq!(codes.len(), Denial::ALL.len());
        assert_eq!(Denial::from_code("ERROR_CODE_SOMETHING_ELSE"), None);
    }
}
