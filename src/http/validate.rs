//! Field checks shared by request bodies; each failure is a 422 naming the field.

use super::error::ApiError;

/// A non-blank string of at most `max` characters (as sent), trimmed.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::validation(field, "must not be empty"));
    }
    // Counted as sent, as the spec's maxLength counts.
    if value.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An absolute `http` or `https` URL, without a trailing slash.
pub fn url(field: &str, value: &str) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(value.trim())
        .map_err(|e| ApiError::validation(field, format!("is not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::validation(
            field,
            "must be an absolute http:// or https:// URL",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::validation(field, "must not carry credentials"));
    }
    Ok(value.trim().trim_end_matches('/').to_owned())
}

/// An e-mail address of the usual `local@domain` shape.
pub fn email(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let valid = value.chars().count() <= 254
        && !value.chars().any(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            "must be an e-mail address like jane@example.com",
        ))
    }
}

/// A secret that is not blank.
pub fn secret(field: &str, value: &secrecy::SecretString) -> Result<(), ApiError> {
    if secrecy::ExposeSecret::expose_secret(value)
        .trim()
        .is_empty()
    {
        Err(ApiError::validation(field, "must not be empty"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http() {
        assert_eq!(
            url("u", "https://graph.microsoft.com/v1.0/").unwrap(),
            "https://graph.microsoft.com/v1.0"
        );
        assert!(url("u", "ftp://x.y").is_err());
        assert!(url("u", "graph.microsoft.com").is_err());
        assert!(url("u", "https://user:pw@x.y").is_err());
    }

    #[test]
    fn emails_have_a_local_part_and_a_domain() {
        assert!(email("e", " jane@acme.com ").is_ok());
        for bad in [
            "jane",
            "@acme.com",
            "jane@acme",
            "ja ne@acme.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("t", "  Acme ", 10).unwrap(), "Acme");
        assert!(text("t", "   ", 10).is_err());
        assert!(text("t", "abcdefghijk", 10).is_err());
    }
}
