//! The session cookie: HttpOnly, SameSite=Strict; outside the plain-http demo Secure and
//! bound to this host (`__Host-`, crate::cookies), in the demo scoped to /werkplek. The cookie holds a random token; the store knows only its hash.

use axum::http::{HeaderMap, HeaderValue, header};
use loket_store::StoreError;
use loket_zaken::werk::Medewerker;
use time::OffsetDateTime;

use super::staff::{Session, Staff};
use crate::cookies::SessionCookie;

pub(crate) const SESSION_COOKIE: SessionCookie = SessionCookie {
    bare: "werkplek_sessie",
    hosted: "__Host-werkplek_sessie",
    demo_path: "/werkplek",
    attributes: "HttpOnly; SameSite=Strict",
};

pub(super) fn session_cookie(token: &str, secure: bool) -> (header::HeaderName, HeaderValue) {
    (header::SET_COOKIE, SESSION_COOKIE.set(token, secure))
}

pub(super) fn clear_cookie(secure: bool) -> HeaderValue {
    SESSION_COOKIE.clear(secure)
}

/// The session token the request carries, if any.
fn token(headers: &HeaderMap, secure: bool) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE.name(secure))
}

pub(super) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    crate::portaal::cookie(headers, name)
}

/// The request's live session (signed in or not) and its token.
pub(super) async fn current(
    staff: &Staff,
    headers: &HeaderMap,
    secure: bool,
    now: OffsetDateTime,
) -> Result<Option<(String, Session)>, StoreError> {
    let Some(token) = token(headers, secure) else {
        return Ok(None);
    };
    Ok(staff
        .session(token, now)
        .await?
        .map(|session| (token.to_owned(), session)))
}

/// A signed-in employee with an active account.
#[derive(Debug)]
pub(super) struct SignedIn {
    pub(super) medewerker: Medewerker,
    pub(super) session: Session,
}

impl SignedIn {
    pub(super) async fn from_headers(
        staff: &Staff,
        headers: &HeaderMap,
        secure: bool,
        now: OffsetDateTime,
    ) -> Result<Option<Self>, StoreError> {
        let Some((_, session)) = current(staff, headers, secure, now).await? else {
            return Ok(None);
        };
        let Some(id) = &session.medewerker else {
            return Ok(None);
        };
        Ok(staff.medewerker(id).await?.map(|medewerker| Self {
            medewerker,
            session,
        }))
    }
}
