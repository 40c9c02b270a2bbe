//! The HTTP side: routes, embedded assets and the token check.
//!
//! Invariants:
//! - Only the fixed routes below exist; the page and its assets are
//!   compiled into the binary, so no request path ever reaches the file
//!   system (a traversal such as `/../../etc/passwd` is just an unknown
//!   route: 404).
//! - With a token set, every request (page, assets, API, unknown paths)
//!   must carry it as `Authorization: Bearer T` or `?token=T`, else 401.
//!   Tokens are restricted to URL-safe characters, so the page can pass
//!   them on verbatim.
//! - Request bodies are never read (every route is GET); a body limit is
//!   set anyway.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;

use crate::error::WebError;
use crate::feed::{SharedState, lock};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind (port 0 = any free port).
    pub listen: SocketAddr,
    /// Token every request must carry; required for non-loopback addresses.
    pub token: Option<String>,
}

impl ServerConfig {
    /// Checks the token rules: a valid token, and one at all unless the
    /// address is loopback.
    pub fn check(&self) -> Result<(), WebError> {
        match &self.token {
            Some(t) => {
                let ok_chars = t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
                if !(16..=256).contains(&t.len()) || !ok_chars {
                    return Err(WebError::BadToken(t.chars().count()));
                }
                Ok(())
            }
            None if self.listen.ip().is_loopback() => Ok(()),
            None => Err(WebError::TokenRequired(self.listen)),
        }
    }
}

#[derive(Clone)]
struct App {
    state: SharedState,
    token: Option<Arc<str>>,
}

/// The dashboard's router (page, assets, `/api/*`), with the token check
/// when `token` is set.
pub fn router(state: SharedState, token: Option<String>) -> Router {
    let app = App {
        state,
        token: token.map(Arc::from),
    };
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/app.js", get(app_js))
        .route("/style.css", get(style_css))
        .route("/api/summary", get(api_summary))
        .route("/api/throughput", get(api_throughput))
        .route("/api/mix", get(api_mix))
        .route("/api/talkers", get(api_talkers))
        .route("/api/flows", get(api_flows))
        .route("/api/alerts", get(api_alerts))
        .route("/api/forecast", get(api_forecast))
        .route("/api/status", get(api_status))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(4096))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn has_token(req: &Request, token: &str) -> bool {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.trim().as_bytes(), token.as_bytes()));
    let query = req.uri().query().is_some_and(|q| {
        q.split('&')
            .filter_map(|kv| kv.strip_prefix("token="))
            .any(|t| same(t.as_bytes(), token.as_bytes()))
    });
    bearer || query
}

/// Token check and security headers on every response.
async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let mut resp = match &app.token {
        Some(t) if !has_token(&req, t) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "401 unauthorized: this dashboard needs its token (Authorization: Bearer TOKEN or ?token=TOKEN)\n",
        )
            .into_response(),
        _ => next.run(req).await,
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

async fn index(State(app): State<App>) -> Response {
    // The token is URL-safe by construction (ServerConfig::check), so it can
    // be placed in the asset URLs verbatim.
    let q = app
        .token
        .as_deref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    let body = INDEX_HTML.replace("{{Q}}", &q);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLE_CSS,
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 not found\n").into_response()
}

async fn api_summary(State(app): State<App>) -> Response {
    Json(lock(&app.state).summary()).into_response()
}

async fn api_throughput(State(app): State<App>) -> Response {
    Json(lock(&app.state).throughput()).into_response()
}

async fn api_mix(State(app): State<App>) -> Response {
    Json(lock(&app.state).mix()).into_response()
}

async fn api_talkers(State(app): State<App>) -> Response {
    Json(lock(&app.state).talkers()).into_response()
}

async fn api_flows(State(app): State<App>) -> Response {
    Json(lock(&app.state).flows()).into_response()
}

async fn api_alerts(State(app): State<App>) -> Response {
    Json(lock(&app.state).alerts()).into_response()
}

async fn api_forecast(State(app): State<App>) -> Response {
    Json(lock(&app.state).forecast()).into_response()
}

async fn api_status(State(app): State<App>) -> Response {
    Json(lock(&app.state).status()).into_response()
}

/// Checks `cfg`, binds, calls `on_bound` with the bound address and serves
/// until the process ends (a small single-threaded runtime: the dashboard
/// has few clients).
pub fn serve_blocking(
    cfg: &ServerConfig,
    state: SharedState,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), WebError> {
    cfg.check()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(WebError::Serve)?;
    let app = router(state, cfg.token.clone());
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| WebError::Listen {
                addr: cfg.listen.to_string(),
                source,
            })?;
        let bound = listener.local_addr().map_err(WebError::Serve)?;
        on_bound(bound);
        axum::serve(listener, app).await.map_err(WebError::Serve)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(addr: &str, token: Option<&str>) -> ServerConfig {
        ServerConfig {
            listen: addr.parse().expect("test address"),
            token: token.map(str::to_string),
        }
    }

    #[test]
    fn token_rules() {
        assert!(cfg("127.0.0.1:8080", None).check().is_ok());
        assert!(cfg("[::1]:8080", None).check().is_ok());
        assert!(matches!(
            cfg("0.0.0.0:8080", None).check(),
            Err(WebError::TokenRequired(_))
        ));
        assert!(
            cfg("0.0.0.0:8080", Some("abcdefghijklmnop"))
                .check()
                .is_ok()
        );
        assert!(matches!(
            cfg("0.0.0.0:8080", Some("short")).check(),
            Err(WebError::BadToken(5))
        ));
        assert!(matches!(
            cfg("127.0.0.1:8080", Some("abcdefghijklmnop\"<x>")).check(),
            Err(WebError::BadToken(_))
        ));
    }

    #[test]
    fn constant_time_compare() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn assets_reference_the_token_placeholder() {
        assert!(INDEX_HTML.contains("app.js{{Q}}"));
        assert!(INDEX_HTML.contains("style.css{{Q}}"));
    }
}
