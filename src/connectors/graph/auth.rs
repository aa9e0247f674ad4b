//! App-only sign-in (client credentials): one token per tenant, cached and renewed five
//! minutes before it expires.

use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{GraphClient, GraphError};

/// Renew this long before the token expires.
const RENEW_BEFORE: Duration = Duration::minutes(5);

/// A token and when it stops working.
pub(super) struct CachedToken {
    value: String,
    expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl GraphClient {
    /// The scope to ask for: the Graph host's `.default`, Graph's public host for
    /// non-TLS roots (simulators).
    fn scope(&self) -> String {
        match reqwest::Url::parse(&self.inner.config.graph_url) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {
                format!("https://{}/.default", url.host_str().unwrap_or_default())
            }
            _ => "https://graph.microsoft.com/.default".to_owned(),
        }
    }

    /// A valid access token, signing in when there is none or it is about to expire.
    pub(super) async fn token(&self) -> Result<String, GraphError> {
        let mut cached = self.inner.token.lock().await;
        let now = self.inner.clock.now();
        if let Some(token) = cached.as_ref() {
            if token.expires_at - RENEW_BEFORE > now {
                return Ok(token.value.clone());
            }
        }
        let config = &self.inner.config;
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            config.login_url, config.tenant_id
        );
        let scope = self.scope();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.expose_secret()),
            ("scope", scope.as_str()),
        ];
        let metrics = &config.metrics;
        let route = crate::metrics::Route::GraphToken;
        let fetch = || async {
            let response = self
                .inner
                .http
                .post(&url)
                .form(&form)
                .timeout(config.timeout)
                .send()
                .await
                .map_err(|e| {
                    metrics.upstream(route, crate::metrics::StatusClass::TransportError);
                    super::error::transport(e)
                })?;
            let status = response.status().as_u16();
            metrics.upstream_status(route, status);
            let retry_after =
                crate::connectors::retry::parse_retry_after(response.headers().get("retry-after"));
            let text = response.text().await.map_err(super::error::transport)?;
            if (200..300).contains(&status) {
                return serde_json::from_str::<TokenAnswer>(&text)
                    .map_err(|e| GraphError::Malformed(format!("token answer: {e}")));
            }
            if status == 429 {
                return Err(GraphError::Throttled { retry_after });
            }
            if status >= 500 {
                return Err(GraphError::Unavailable {
                    status,
                    code: "sign_in_unavailable".into(),
                    message: "the sign-in endpoint failed".into(),
                    retry_after,
                });
            }
            let error: TokenError = serde_json::from_str(&text).unwrap_or_default();
            Err(GraphError::SignIn {
                code: if error.error.is_empty() {
                    format!("http_{status}")
                } else {
                    error.error
                },
                description: error.error_description,
            })
        };
        let answer = config.retry.run("sign-in", fetch).await?;
        let token = CachedToken {
            value: answer.access_token,
            expires_at: now + Duration::seconds(answer.expires_in.max(0)),
        };
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Drops the cached token so the next call signs in again (after a 401).
    pub(super) async fn forget_token(&self) {
        *self.inner.token.lock().await = None;
    }
}
