//! Request bodies, read once and checked before any handler sees them: a JSON
//! body must be an object, and no text field may hold NUL or other control
//! characters (only pasted keys, free text and lists may carry line breaks).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// Fields where a value may carry line breaks: a pasted key (trimmed by the
/// service), free text shown as text (an administrator's reason, a
/// repository's description), and a list of authenticator models, one per line.
const MULTI_LINE: &[&str] = &["key", "public_key", "reason", "description", "models"];

/// Refuses a text value with control characters, naming the field.
pub fn check_text(field: &str, value: &str) -> Result<(), Error> {
    let allowed = |c: char| MULTI_LINE.contains(&field) && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        let mut e = Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "control_characters",
            format!("\"{field}\" contains control characters (such as NUL or a line break): remove them."),
        );
        e.field = known_field(field);
        return Err(e);
    }
    Ok(())
}

/// The form fields messages can be shown next to.
fn known_field(name: &str) -> Option<&'static str> {
    [
        "username",
        "email",
        "password",
        "login",
        "code",
        "key",
        "name",
        "label",
        "description",
        "token",
    ]
    .into_iter()
    .find(|f| *f == name)
}

fn check_value(field: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::String(s) => check_text(field, s),
        Value::Array(items) => items.iter().try_for_each(|i| check_value(field, i)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text("field name", k)?;
            check_value(k, v)
        }),
        _ => Ok(()),
    }
}

/// A JSON object, checked, as `T`.
pub fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "The request body must be a JSON object, like {\"name\": \"value\"}.",
        ));
    }
    check_value("body", &value)?;
    serde_json::from_value(value).map_err(|e| {
        Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            format!("The request body does not have the expected fields: {e}"),
        )
    })
}

/// An url-encoded form, checked, as `T`.
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    for (k, v) in form_urlencoded::parse(body) {
        check_text("field name", &k)?;
        check_text(&k, &v)?;
    }
    serde_html_form::from_bytes(body)
        .map_err(|e| Error::bad_request(format!("The form could not be read: {e}")))
}

/// The body as bytes; too large is 413 with our message.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request is too large: 64 KiB at most.",
            )
        } else {
            Error::new(e.status(), "bad_request", e.body_text())
        }
    })
}

/// Whether the request says its body is JSON.
pub fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Named {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn json_must_be_an_object_without_control_characters() {
        assert!(json_object::<Named>(br#"{"name": "ok"}"#).is_ok());
        for bad in [
            &b"[1]"[..],
            b"\"x\"",
            b"null",
            b"{",
            br#"{"name": "a\u0000b"}"#,
            br#"{"name": "a\nb"}"#,
            br#"{"name": 5}"#,
        ] {
            let e = json_object::<Named>(bad).unwrap_err();
            assert!(e.status.is_client_error(), "{bad:?}");
        }
        assert_eq!(
            json_object::<Named>(br#"{"name": "a\u0000"}"#)
                .unwrap_err()
                .code,
            "control_characters"
        );
    }

    #[test]
    fn keys_may_carry_line_breaks_other_fields_not() {
        assert!(check_text("key", "ssh-ed25519 AAAA x\r\n").is_ok());
        assert!(check_text("key", "a\0b").is_err());
        assert!(check_text("label", "a\r\nb").is_err());
        assert!(check_text("label", "café ünïcode").is_ok());
    }

    #[test]
    fn forms_are_checked_field_by_field() {
        assert!(form::<Named>(b"name=ok").is_ok());
        let e = form::<Named>(b"name=a%00b").unwrap_err();
        assert_eq!(e.field, Some("name"));
        assert!(form::<Named>(b"name=a%0Db").is_err());
    }
}
