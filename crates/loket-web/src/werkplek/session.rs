//! The session cookie: HttpOnly, SameSite=Strict, scoped to the workspace, Secure outside
//! the plain-http demo. The cookie holds a random token; the store knows only its hash.

use axum::http::{HeaderMap, HeaderValue, header};
use loket_store::StoreError;
use loket_zaken::werk::Medewerker;
use time::OffsetDateTime;

use super::staff::{Session, Staff};

pub(super) const COOKIE: &str = "werkplek_sessie";

pub(super) fn session_cookie(token: &str, secure: bool) -> (header::HeaderName, HeaderValue) {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{COOKIE}={token}; Path=/werkplek; HttpOnly; SameSite=Strict{secure}");
    (
        header::SET_COOKIE,
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

pub(super) fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/werkplek; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session token the request carries, if any.
fn token(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, COOKIE)
}

pub(super) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    crate::portaal::cookie(headers, name)
}

/// The request's live session (signed in or not) and its token.
pub(super) async fn current(
    staff: &Staff,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Option<(String, Session)>, StoreError> {
    let Some(token) = token(headers) else {
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
        now: OffsetDateTime,
    ) -> Result<Option<Self>, StoreError> {
        let Some((_, session)) = current(staff, headers, now).await? else {
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
