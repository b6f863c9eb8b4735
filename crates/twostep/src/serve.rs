use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use twostep_auth::{AuthService, Keys, Settings, SystemClock};
use twostep_mail::Mailer;
use twostep_store::Store;
use twostep_web::AppState;

use crate::config::Config;

pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    cfg.prepare_data_dir()?;
    let master = crate::keyfile::load_or_create(&cfg.data_dir, cfg.secret_key.as_deref())?;
    let store = Store::open(&cfg.database_url)
        .await
        .with_context(|| format!("opening the database {}", cfg.database_display()))?;
    let mailer = match &cfg.smtp_url {
        Some(url) => Mailer::smtp(url, &cfg.mail_from)?,
        None => Mailer::outbox(cfg.data_dir.join("outbox"), &cfg.mail_from)?,
    };
    let mail_desc = mailer.describe();
    let auth = AuthService::new(
        store.clone(),
        mailer,
        Keys::derive(&master),
        Arc::new(SystemClock),
        Settings {
            public_url: cfg.public_url.clone(),
            issuer: cfg.issuer.clone(),
            ssh_hint: cfg.ssh_hint(),
        },
    );
    let state = AppState {
        auth,
        secure_cookies: cfg.public_url.starts_with("https://"),
    };
    let app = twostep_web::router(state);
    let listener = tokio::net::TcpListener::bind(&cfg.http_addr)
        .await
        .with_context(|| format!("listening on {}", cfg.http_addr))?;
    let local = listener.local_addr()?;
    tracing::info!(
        web = %format!("http://{local}"),
        public_url = %cfg.public_url,
        database = %cfg.database_display(),
        mail = %mail_desc,
        "twostep is serving"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    store.close().await;
    tracing::info!("twostep stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
