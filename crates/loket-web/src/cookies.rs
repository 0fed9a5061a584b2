//! The names and paths of the cookies that hold a session or a login in progress.
//!
//! Outside the plain-HTTP demo they carry the `__Host-` prefix: a browser then takes such
//! a cookie only from this very host, over HTTPS, with `Path=/` and no `Domain`. A sibling
//! subdomain can therefore not plant a session or a login of its own in a resident's
//! browser (cookie tossing; RFC 6265bis 4.1.3.2). A cookie without the prefix is not read
//! at all then. Browsers refuse the prefix on plain HTTP, so the demo keeps the bare name
//! and a narrower path.

use axum::http::HeaderValue;

#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionCookie {
    /// The name in the demo; outside it, the same with `__Host-` before it.
    pub(crate) bare: &'static str,
    pub(crate) hosted: &'static str,
    /// The path in the demo (outside it, `/`, as the prefix demands).
    pub(crate) demo_path: &'static str,
    /// The other attributes (`HttpOnly; SameSite=…`, a `Max-Age`).
    pub(crate) attributes: &'static str,
}

impl SessionCookie {
    pub(crate) fn name(self, secure: bool) -> &'static str {
        if secure { self.hosted } else { self.bare }
    }

    fn path(self, secure: bool) -> &'static str {
        if secure { "/" } else { self.demo_path }
    }

    /// The `Set-Cookie` value that stores `value`.
    pub(crate) fn set(self, value: &str, secure: bool) -> HeaderValue {
        let text = format!(
            "{}={value}; Path={}; {}{}",
            self.name(secure),
            self.path(secure),
            self.attributes,
            if secure { "; Secure" } else { "" }
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that removes it.
    pub(crate) fn clear(self, secure: bool) -> HeaderValue {
        let attributes = self
            .attributes
            .split("; ")
            .filter(|attribute| !attribute.starts_with("Max-Age="))
            .collect::<Vec<_>>()
            .join("; ");
        let text = format!(
            "{}=; Path={}; {attributes}; Max-Age=0{}",
            self.name(secure),
            self.path(secure),
            if secure { "; Secure" } else { "" }
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: SessionCookie = SessionCookie {
        bare: "proef",
        hosted: "__Host-proef",
        demo_path: "/proef",
        attributes: "HttpOnly; SameSite=Lax; Max-Age=600",
    };

    #[test]
    fn outside_the_demo_the_cookie_is_bound_to_this_host() {
        assert_eq!(
            TEST.set("abc", true),
            "__Host-proef=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=600; Secure"
        );
        assert_eq!(
            TEST.clear(true),
            "__Host-proef=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
        );
        assert_eq!(
            TEST.set("abc", false),
            "proef=abc; Path=/proef; HttpOnly; SameSite=Lax; Max-Age=600"
        );
        assert_eq!(
            TEST.clear(false),
            "proef=; Path=/proef; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }

    #[test]
    fn every_hosted_name_is_its_bare_name_with_the_prefix() {
        for cookie in [
            crate::portaal::SESSION_COOKIE,
            crate::portaal::LOGIN_COOKIE,
            crate::werkplek::SESSION_COOKIE,
            crate::werkplek::LOGIN_COOKIE,
        ] {
            assert_eq!(cookie.hosted, format!("__Host-{}", cookie.bare));
        }
    }
}
