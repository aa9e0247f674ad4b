//! Which methods each documented path takes, read from the spec itself, so that a request
//! to a known path with an undeclared method is answered 405 with an `Allow` header (RFC
//! 9110 section 15.5.6) instead of the 404 of an unknown route.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use utoipa::openapi::OpenApi;

use super::error::ApiError;

/// One path template of the spec, split into segments (`None` for a `{parameter}`), and
/// the methods it documents.
#[derive(Debug, Clone)]
struct Route {
    segments: Vec<Option<String>>,
    allow: String,
}

/// The documented paths and their methods.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    routes: Vec<Route>,
}

impl AllowedMethods {
    /// The table of `api`'s paths.
    pub fn of(api: &OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let mut methods: Vec<&str> = Vec::new();
                let mut add = |present: bool, name: &'static str| {
                    if present && !methods.contains(&name) {
                        methods.push(name);
                    }
                };
                add(item.get.is_some(), "GET");
                add(item.put.is_some(), "PUT");
                add(item.post.is_some(), "POST");
                add(item.delete.is_some(), "DELETE");
                add(item.patch.is_some(), "PATCH");
                add(item.head.is_some(), "HEAD");
                add(item.options.is_some(), "OPTIONS");
                add(item.trace.is_some(), "TRACE");
                Route {
                    segments,
                    allow: methods.join(", "),
                }
            })
            .collect();
        Self { routes }
    }

    /// The `Allow` value of the documented path `path` matches, if any.
    pub fn allow(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes
            .iter()
            .find(|route| {
                route.segments.len() == parts.len()
                    && route
                        .segments
                        .iter()
                        .zip(&parts)
                        .all(|(segment, part)| match segment {
                            Some(fixed) => fixed == part,
                            None => !part.is_empty(),
                        })
            })
            .map(|route| route.allow.as_str())
    }
}

/// Answers a request no route took: 405 with `Allow` when its path is documented (so
/// only its method is wrong), else 404 `route_not_found`.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allow = req
        .app_data::<actix_web::web::Data<AllowedMethods>>()
        .and_then(|table| table.allow(req.path()).map(str::to_owned));
    let (method, path) = (req.method(), req.path());
    match allow {
        Some(allow) => {
            let error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} does not take {method}; it takes {allow}"),
            );
            let mut response = actix_web::ResponseError::error_response(&error);
            response.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_str(&allow)
                    .unwrap_or(header::HeaderValue::from_static("GET")),
            );
            Ok(response)
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("there is no route {method} {path}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        let table = AllowedMethods::of(&crate::http::openapi());
        assert_eq!(table.allow("/api/v1/spaces"), Some("GET, POST"));
        assert_eq!(
            table.allow("/api/v1/spaces/acme"),
            Some("GET, DELETE, PATCH")
        );
        assert_eq!(
            table.allow("/api/v1/spaces/acme/users/ann/settings"),
            Some("PATCH")
        );
        assert_eq!(table.allow("/api/v1/spaces/acme/nothing"), None);
        assert_eq!(table.allow("/api/v1/spaces//users"), None);
    }
}
