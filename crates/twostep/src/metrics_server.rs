//! `/metrics` for Prometheus on its own address (`--metrics-addr`), off by
//! default: it has no authentication, so it belongs on an internal address.

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use twostep_auth::metrics as names;

/// Installs the recorder and serves the text format on `addr`.
pub async fn start(
    addr: &str,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(names::GIT_DURATION.into()),
            names::GIT_BUCKETS,
        )
        .context("metrics buckets")?
        .set_buckets_for_metric(
            Matcher::Full(names::HTTP_DURATION.into()),
            names::HTTP_BUCKETS,
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    names::describe();
    // Series that exist from the start, so a scrape before any traffic shows them.
    metrics::gauge!(names::HASH_QUEUE).set(0.0);
    metrics::gauge!(names::SSH_SESSIONS).set(0.0);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening for metrics on {addr}"))?;
    let local = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || render(handle.clone())),
    );
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics server stopped");
        }
    });
    Ok((local, task))
}

async fn render(handle: PrometheusHandle) -> impl axum::response::IntoResponse {
    handle.run_upkeep();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
