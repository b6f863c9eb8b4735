use std::sync::Arc;

use anyhow::Context;
use twostep_auth::{Argon2Workers, AuthService, Keys, Parts, Settings, SystemClock};
use twostep_mail::Mailer;
use twostep_store::Store;
use twostep_web::AppState;

use crate::config::Config;

pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    cfg.prepare_data_dir()?;
    let fd_limit = crate::files::raise_fd_limit();
    let mut http_limits = twostep_web::server::Limits::for_fd_limit(fd_limit);
    if let Some(n) = cfg.http_max_connections {
        http_limits.max_connections = n;
    }
    crate::files::warn_if_open(&cfg.data_dir);
    let Wired {
        auth,
        store,
        host_key,
        mail_desc,
    } = wire(&cfg).await?;
    let ssh_fingerprint = auth.settings().ssh_fingerprint.clone();
    let metrics = match &cfg.metrics_addr {
        Some(addr) => {
            let (local, task) = crate::metrics_server::start(addr).await?;
            tracing::info!(metrics = %format!("http://{local}/metrics"), "serving metrics");
            Some(task)
        }
        None => None,
    };
    let checked = auth.repos().check_repositories(true).await?;
    if !checked.strays.is_empty() || !checked.missing.is_empty() {
        tracing::warn!(
            strays = checked.strays.len(),
            missing = checked.missing.len(),
            "repository folders and records disagree (see above); serving anyway"
        );
    }
    let housekeeping = tokio::spawn(purge_every(auth.clone(), PURGE_EVERY));
    big_allocations_mapped();
    let memory = tokio::spawn(release_idle_memory(auth.clone()));
    let ssh_listener = tokio::net::TcpListener::bind(&cfg.ssh_addr)
        .await
        .with_context(|| format!("listening for SSH on {}", cfg.ssh_addr))?;
    let ssh_local = ssh_listener.local_addr()?;
    let ssh_auth = auth.clone();
    let ssh_limits = twostep_ssh::Limits {
        auth_timeout: std::time::Duration::from_secs(cfg.ssh_auth_timeout),
        ..twostep_ssh::Limits::for_fd_limit(fd_limit, cfg.ssh_max_per_ip)
    };
    let ssh_limits = twostep_ssh::Limits {
        max_total: cfg
            .ssh_max_connections
            .unwrap_or(ssh_limits.max_total)
            .max(1),
        ..ssh_limits
    };
    let ssh_proxies = cfg.trusted_proxies.clone();
    let ssh = tokio::spawn(async move {
        if let Err(e) =
            twostep_ssh::serve(ssh_listener, ssh_auth, host_key, ssh_limits, ssh_proxies).await
        {
            tracing::error!(error = %e, "the SSH server stopped");
        }
    });
    let shutdown_auth = auth.clone();
    let state = AppState {
        auth,
        secure_cookies: cfg.public_url.starts_with("https://"),
    };
    let app = twostep_web::router(state);
    let tls = match &cfg.tls {
        Some(source) => Some(crate::tls::start(source).await?),
        None => None,
    };
    if !matches!(cfg.tls, Some(crate::tls::Source::Files { .. })) {
        // A reload hook (certbot, logrotate) must not stop the server.
        sighup_has_nothing_to_reload()?;
    }
    let listener = tokio::net::TcpListener::bind(&cfg.http_addr)
        .await
        .with_context(|| format!("listening on {}", cfg.http_addr))?;
    let local = listener.local_addr()?;
    let redirect = match &cfg.redirect_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening for redirects on {addr}"))?;
            let app = twostep_web::server::https_redirect(&cfg.public_url);
            let proxies = cfg.trusted_proxies.clone();
            tracing::info!(redirect = %addr, to = %cfg.public_url, "plain HTTP redirects to https");
            Some(tokio::spawn(async move {
                let never = std::future::pending::<()>();
                let _ =
                    twostep_web::server::serve(listener, app, http_limits, proxies, None, never)
                        .await;
            }))
        }
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        web = %format!("{scheme}://{local}"),
        ssh = %ssh_local,
        ssh_host_key = %ssh_fingerprint,
        public_url = %cfg.public_url,
        database = %cfg.database_display(),
        mail = %mail_desc,
        "twostep is serving"
    );
    twostep_web::server::serve(
        listener,
        app,
        http_limits,
        cfg.trusted_proxies.clone(),
        tls,
        shutdown_signal(),
    )
    .await?;
    if let Some(r) = redirect {
        r.abort();
    }
    // No new SSH connections; running git operations may finish.
    ssh.abort();
    let left = shutdown_auth
        .repos()
        .finish_git_operations(std::time::Duration::ZERO)
        .await;
    if left > 0 {
        tracing::info!(
            running = left,
            "shutting down: letting git operations finish"
        );
    }
    let left = shutdown_auth.repos().finish_git_operations(GIT_GRACE).await;
    if left > 0 {
        tracing::warn!(running = left, "git operations cut off at shutdown");
    }
    housekeeping.abort();
    memory.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    store.close().await;
    tracing::info!("twostep stopped");
    Ok(())
}

/// The auth service over the configured database, mailer and keys: what
/// `serve` runs and what `twostep admin …` acts through, offline.
pub struct Wired {
    pub auth: AuthService,
    pub store: Store,
    pub host_key: twostep_ssh::HostKey,
    pub mail_desc: String,
}

pub async fn wire(cfg: &Config) -> anyhow::Result<Wired> {
    let store = Store::open(&cfg.database_url)
        .await
        .with_context(|| format!("opening the database {}", cfg.database_display()))?;
    wire_with(cfg, store).await
}

/// The same over a store opened by the caller (`twostep serv` does not migrate).
pub async fn wire_with(cfg: &Config, store: Store) -> anyhow::Result<Wired> {
    let master = crate::keyfile::load_or_create(&cfg.data_dir, cfg.secret_key.as_deref())?;
    let mailer = match &cfg.smtp_url {
        Some(url) => Mailer::smtp(url, &cfg.mail_from)?,
        None => Mailer::outbox(cfg.data_dir.join("outbox"), &cfg.mail_from)?,
    };
    let mail_desc = mailer.describe();
    let host_key = twostep_ssh::load_or_create_host_key(&cfg.host_key_path())?;
    let ssh_fingerprint = twostep_ssh::fingerprint(&host_key);
    let auth = AuthService::new(
        Parts {
            store: store.clone(),
            mailer: Arc::new(mailer),
            hasher: Arc::new(Argon2Workers::sized_to_cores()),
            keys: Keys::derive(&master),
            clock: Arc::new(SystemClock),
        },
        Settings {
            public_url: cfg.public_url.clone(),
            issuer: cfg.issuer.clone(),
            ssh_hint: cfg.ssh_hint(),
            ssh_url: cfg.ssh_url(),
            repos_dir: cfg.repositories_dir.clone(),
            ssh_fingerprint,
            recovery_wait: cfg.recovery_wait,
            recovery_wait_with_proof: cfg.recovery_wait_with_proof,
            oidc: cfg.oidc.clone(),
            reserved_names: twostep_web::reserved_names(),
            breached_passwords: cfg.breached_passwords()?,
            sessions: cfg.sessions,
            self_service_recovery: cfg.self_service_recovery,
            credential_max_lifetime: cfg.credential_max_lifetime,
        },
    );
    anyhow::ensure!(
        auth.secret_key_matches_database().await?,
        "this node's secret key is not the one the database {} was written with: \
         every node on one database needs the same key (secret_key in the config, \
         or the same secret.key file in each data folder); see README \"Several nodes\"",
        cfg.database_display()
    );
    Ok(Wired {
        auth,
        store,
        host_key,
        mail_desc,
    })
}

/// How long a shutdown waits for running git operations.
const GIT_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes ended sessions, expired links and old failures, now and then.
async fn purge_every(auth: AuthService, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match auth.purge().await {
            Ok(p) => tracing::debug!(?p, "housekeeping"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
        match auth.repos().check_repositories(false).await {
            Ok(r) => tracing::debug!(?r, "repositories checked"),
            Err(e) => tracing::warn!(error = %e, "checking the repositories failed"),
        }
    }
}

/// glibc serves big blocks with their own mapping, but raises that threshold
/// each time it frees one, so the second generation of 19 MiB Argon2
/// buffers would land in an arena that never shrinks. A fixed threshold keeps
/// every such buffer its own mapping, given back whole when dropped.
fn big_allocations_mapped() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes the allocator's policy for later calls.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// After a burst of sign-ins, the 19 MiB Argon2 buffers go back to the
/// system once the burst is over (a hashing worker drops its buffer after
/// 15 s without a hash; glibc keeps freed memory unless asked).
async fn release_idle_memory(auth: AuthService) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tick.tick().await;
        if auth.release_idle_memory() {
            #[cfg(target_env = "gnu")]
            // SAFETY: malloc_trim only returns free memory to the system.
            unsafe {
                libc::malloc_trim(0);
            }
            tracing::debug!("password-hashing memory released");
        }
    }
}

fn sighup_has_nothing_to_reload() -> anyhow::Result<()> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: nothing to reload (it reads certificate files given with --tls-cert; ACME certificates renew themselves)");
        }
    });
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
