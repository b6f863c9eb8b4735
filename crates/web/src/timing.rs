//! How long HTTP requests take, for Prometheus: from the request to the
//! answer's head, by surface and status class. (A git answer streams its
//! pack after the head: its whole duration is the git histogram's.)

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use twostep_auth::metrics::HTTP_DURATION;

pub async fn record(req: Request, next: Next) -> Response {
    let surface = surface(req.uri().path());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let status = match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::histogram!(HTTP_DURATION, "surface" => surface, "status" => status)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Which part of the site a path belongs to (a few fixed values, never the
/// path itself: labels must not grow with what clients ask for).
fn surface(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path == "/healthz" || path == "/readyz" {
        "health"
    } else if path.starts_with("/oauth/") || path.starts_with("/.well-known/") {
        "oauth"
    } else if path.ends_with("/info/refs")
        || path.ends_with("/git-upload-pack")
        || path.ends_with("/git-receive-pack")
        || path.ends_with("/git-upload-archive")
    {
        "git"
    } else {
        "pages"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_fall_into_a_few_surfaces() {
        for (path, want) in [
            ("/api/v1/user", "api"),
            ("/readyz", "health"),
            ("/oauth/token", "oauth"),
            ("/alice/proj.git/info/refs", "git"),
            ("/alice/proj.git/git-upload-pack", "git"),
            ("/account/two-step", "pages"),
            ("/", "pages"),
        ] {
            assert_eq!(super::surface(path), want, "{path}");
        }
    }
}
