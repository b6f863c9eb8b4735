//! Layered configuration: defaults < config file < TWOSTEP_* environment < flags.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

use crate::cli::Options;

#[derive(Debug, Default, Deserialize)]
struct Layer {
    data_dir: Option<PathBuf>,
    repositories_dir: Option<PathBuf>,
    ssh_host_key: Option<PathBuf>,
    http_addr: Option<String>,
    ssh_addr: Option<String>,
    metrics_addr: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    issuer: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    /// 64 hex characters; nodes sharing one PostgreSQL database must share it.
    secret_key: Option<String>,
    http_max_connections: Option<usize>,
    ssh_max_connections: Option<usize>,
    ssh_max_per_ip: Option<usize>,
    /// "10.0.0.0/8, 192.0.2.7" or, in the file, a list of them.
    trusted_proxies: Option<Ranges>,
    proxy_header: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    acme_domain: Option<String>,
    acme_directory: Option<String>,
    acme_contact: Option<String>,
    acme_ca: Option<PathBuf>,
    acme_cache: Option<PathBuf>,
    redirect_addr: Option<String>,
    /// Seconds an SSH client has to sign in (file/env only).
    ssh_auth_timeout: Option<u64>,
    recovery_wait: Option<String>,
    recovery_wait_with_proof: Option<String>,
    breached_passwords_file: Option<PathBuf>,
    /// "default" (7 days, 12 idle hours) or "aal2" (24 hours, 1 idle hour).
    session_profile: Option<String>,
    /// Durations overriding the profile's.
    session_lifetime: Option<String>,
    session_idle: Option<String>,
    credential_max_lifetime: Option<String>,
    /// `true` (the default) or `false`.
    self_service_recovery: Option<bool>,
    /// `[[oidc]]` tables (file only).
    oidc: Option<Vec<OidcLayer>>,
}

/// A comma-separated string (flag, environment) or a TOML list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Ranges {
    Text(String),
    List(Vec<String>),
}

fn trusted_proxies(
    flag: Option<String>,
    layer: Option<Ranges>,
    header: Option<String>,
) -> anyhow::Result<twostep_core::client_address::TrustedProxies> {
    use twostep_core::client_address::TrustedProxies;
    let text = match (flag, layer) {
        (Some(t), _) | (None, Some(Ranges::Text(t))) => t,
        (None, Some(Ranges::List(l))) => l.join(","),
        (None, None) => String::new(),
    };
    let ranges = TrustedProxies::parse_list(&text).context("trusted_proxies")?;
    let header = match header {
        Some(h) => h.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        None => Default::default(),
    };
    Ok(TrustedProxies::new(ranges, header))
}

/// One OpenID Connect provider, as the config file writes it.
#[derive(Debug, Deserialize)]
struct OidcLayer {
    id: String,
    display_name: Option<String>,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    create_accounts: bool,
    #[serde(default)]
    allowed_domains: Vec<String>,
    #[serde(default)]
    trusted_for_mfa: bool,
}

fn oidc_provider(l: OidcLayer) -> anyhow::Result<twostep_auth::OidcProvider> {
    anyhow::ensure!(
        !l.id.is_empty()
            && l.id.len() <= 32
            && l.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "oidc provider id {:?}: use 1 to 32 lower-case letters, digits or dashes (it is part of URLs)",
        l.id
    );
    anyhow::ensure!(
        l.issuer.starts_with("https://") || l.issuer.starts_with("http://"),
        "oidc provider {}: issuer must be an http(s) URL",
        l.id
    );
    anyhow::ensure!(
        !l.client_id.is_empty() && !l.client_secret.is_empty(),
        "oidc provider {}: client_id and client_secret are needed",
        l.id
    );
    Ok(twostep_auth::OidcProvider {
        display_name: l.display_name.unwrap_or_else(|| l.id.clone()),
        id: l.id,
        issuer: l.issuer.trim_end_matches('/').to_string(),
        client_id: l.client_id,
        client_secret: l.client_secret,
        create_accounts: l.create_accounts,
        allowed_domains: l.allowed_domains,
        trusted_for_mfa: l.trusted_for_mfa,
    })
}

/// The session lifetime of a profile, with durations that override it.
fn session_lifetime(
    profile: Option<&str>,
    absolute: Option<&str>,
    idle: Option<&str>,
) -> anyhow::Result<twostep_auth::SessionLifetime> {
    let mut l = match profile.unwrap_or("default") {
        "default" => twostep_auth::SessionLifetime::DEFAULT,
        "aal2" => twostep_auth::SessionLifetime::AAL2,
        other => anyhow::bail!("session_profile {other:?}: use \"default\" or \"aal2\""),
    };
    if let Some(d) = absolute {
        l.absolute = duration(d).context("session_lifetime")?;
    }
    if let Some(d) = idle {
        l.idle = duration(d).context("session_idle")?;
    }
    anyhow::ensure!(
        l.idle >= 60 && l.absolute >= l.idle,
        "session_idle must be at least 1 minute and no longer than session_lifetime"
    );
    Ok(l)
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Bare repositories [default: DATA/repositories]; nodes share it.
    pub repositories_dir: PathBuf,
    /// The SSH host key [default: DATA/ssh_host_ed25519_key]; nodes share it.
    pub ssh_host_key: PathBuf,
    pub http_addr: String,
    pub ssh_addr: String,
    /// Where `/metrics` is served [default: nowhere].
    pub metrics_addr: Option<String>,
    pub database_url: String,
    pub public_url: String,
    pub issuer: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub secret_key: Option<String>,
    /// Open HTTP connections served at once [default: half the open-files limit].
    pub http_max_connections: Option<usize>,
    /// SSH connections open at once [default: from the open-files limit, 31 files each].
    pub ssh_max_connections: Option<usize>,
    /// SSH connections one address may hold open [default: 20].
    pub ssh_max_per_ip: usize,
    /// Proxies whose forwarding headers (HTTP) and PROXY headers (SSH) name the client [default: none].
    pub trusted_proxies: twostep_core::client_address::TrustedProxies,
    /// HTTPS on http_addr: certificate files or ACME [default: plain HTTP].
    pub tls: Option<crate::tls::Source>,
    /// A plain-HTTP listener redirecting to the https:// public URL.
    pub redirect_addr: Option<String>,
    /// Seconds from connecting to a successful SSH sign-in [default: 30].
    pub ssh_auth_timeout: u64,
    /// Seconds self-service recovery waits, without and with a second proof.
    pub recovery_wait: i64,
    pub recovery_wait_with_proof: i64,
    /// OpenID Connect providers (config file `[[oidc]]` tables).
    pub oidc: Vec<twostep_auth::OidcProvider>,
    /// Have I Been Pwned's SHA-1 download, sorted by hash [default: none].
    pub breached_passwords_file: Option<PathBuf>,
    /// How long sessions last [default: 7 days, 12 idle hours; profile "aal2": 24 hours, 1 idle hour].
    pub sessions: twostep_auth::SessionLifetime,
    /// The longest an app password or OAuth grant may last [default: 365 days].
    pub credential_max_lifetime: i64,
    /// Recovery by password, mailbox and a wait [default: on].
    pub self_service_recovery: bool,
}

impl Config {
    /// The breached-password file, opened and checked for its format.
    pub fn breached_passwords(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<twostep_core::breached::List>>> {
        let Some(path) = &self.breached_passwords_file else {
            return Ok(None);
        };
        let list = twostep_core::breached::List::open(path)
            .with_context(|| format!("breached_passwords_file {}", path.display()))?;
        Ok(Some(std::sync::Arc::new(list)))
    }

    pub fn load(o: &Options) -> anyhow::Result<Config> {
        let mut builder = config::Config::builder();
        if let Some(path) = &o.config {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            builder = builder
                .add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
        }
        let layer: Layer = builder
            .add_source(config::Environment::with_prefix("TWOSTEP").try_parsing(false))
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("reading configuration")?;
        let data_dir = o
            .data_dir
            .clone()
            .or(layer.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let repositories_dir = o
            .repositories_dir
            .clone()
            .or(layer.repositories_dir)
            .unwrap_or_else(|| data_dir.join("repositories"));
        let ssh_host_key = o
            .ssh_host_key
            .clone()
            .or(layer.ssh_host_key)
            .unwrap_or_else(|| data_dir.join("ssh_host_ed25519_key"));
        let http_addr = o
            .http_addr
            .clone()
            .or(layer.http_addr)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let ssh_addr = o
            .ssh_addr
            .clone()
            .or(layer.ssh_addr)
            .unwrap_or_else(|| "127.0.0.1:2222".into());
        let database_url = o
            .database_url
            .clone()
            .or(layer.database_url)
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("twostep.db").display()
                )
            });
        let tls = tls_source(
            o.tls_cert.clone().or(layer.tls_cert),
            o.tls_key.clone().or(layer.tls_key),
            o.acme_domain.clone().or(layer.acme_domain),
            crate::tls::Acme {
                domains: Vec::new(),
                directory: o
                    .acme_directory
                    .clone()
                    .or(layer.acme_directory)
                    .unwrap_or_else(|| crate::tls::LETS_ENCRYPT.into()),
                contact: o
                    .acme_contact
                    .clone()
                    .or(layer.acme_contact)
                    .map(|c| vec![format!("mailto:{}", c.trim_start_matches("mailto:"))])
                    .unwrap_or_default(),
                ca: o.acme_ca.clone().or(layer.acme_ca),
                cache: o
                    .acme_cache
                    .clone()
                    .or(layer.acme_cache)
                    .unwrap_or_else(|| data_dir.join("acme")),
            },
        )?;
        let public_url = o
            .public_url
            .clone()
            .or(layer.public_url)
            .unwrap_or_else(|| default_public_url(&http_addr, tls.as_ref()))
            .trim_end_matches('/')
            .to_string();
        anyhow::ensure!(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "public URL must start with http:// or https:// (got {public_url})"
        );
        let recovery_wait = match o.recovery_wait.clone().or(layer.recovery_wait) {
            Some(d) => duration(&d).context("recovery_wait")?,
            None => twostep_auth::RECOVERY_WAIT,
        };
        let recovery_wait_with_proof = match o
            .recovery_wait_with_proof
            .clone()
            .or(layer.recovery_wait_with_proof)
        {
            Some(d) => duration(&d).context("recovery_wait_with_proof")?,
            None => twostep_auth::RECOVERY_WAIT_WITH_PROOF,
        };
        anyhow::ensure!(
            recovery_wait_with_proof <= recovery_wait,
            "recovery_wait_with_proof must not be longer than recovery_wait"
        );
        let mut oidc = Vec::new();
        for l in layer.oidc.unwrap_or_default() {
            let p = oidc_provider(l)?;
            anyhow::ensure!(
                !oidc
                    .iter()
                    .any(|o: &twostep_auth::OidcProvider| o.id == p.id),
                "oidc provider {} is configured twice",
                p.id
            );
            oidc.push(p);
        }
        let sessions = session_lifetime(
            layer.session_profile.as_deref(),
            layer.session_lifetime.as_deref(),
            layer.session_idle.as_deref(),
        )?;
        let credential_max_lifetime = match layer.credential_max_lifetime.as_deref() {
            Some(d) => duration(d).context("credential_max_lifetime")?,
            None => twostep_auth::CREDENTIAL_LIFETIME,
        };
        anyhow::ensure!(
            credential_max_lifetime >= 86_400,
            "credential_max_lifetime must be at least a day"
        );
        let trusted_proxies = trusted_proxies(
            o.trusted_proxies.clone(),
            layer.trusted_proxies,
            o.proxy_header.clone().or(layer.proxy_header),
        )?;
        let redirect_addr = o.redirect_addr.clone().or(layer.redirect_addr);
        anyhow::ensure!(
            redirect_addr.is_none() || public_url.starts_with("https://"),
            "redirect_addr sends people to the https:// public URL: set tls_cert or acme_domain (or an https:// public_url)"
        );
        Ok(Config {
            trusted_proxies,
            tls,
            redirect_addr,
            self_service_recovery: layer.self_service_recovery.unwrap_or(true),
            credential_max_lifetime,
            sessions,
            oidc,
            breached_passwords_file: layer.breached_passwords_file,
            data_dir,
            repositories_dir,
            ssh_host_key,
            http_addr,
            ssh_addr,
            metrics_addr: o
                .metrics_addr
                .clone()
                .or(layer.metrics_addr)
                .filter(|a| !a.is_empty()),
            database_url,
            public_url,
            issuer: o
                .issuer
                .clone()
                .or(layer.issuer)
                .unwrap_or_else(|| "twostep".into()),
            smtp_url: o
                .smtp_url
                .clone()
                .or(layer.smtp_url)
                .filter(|s| !s.is_empty()),
            mail_from: o
                .mail_from
                .clone()
                .or(layer.mail_from)
                .unwrap_or_else(|| "twostep <noreply@localhost.localdomain>".into()),
            secret_key: layer.secret_key,
            http_max_connections: o.http_max_connections.or(layer.http_max_connections),
            ssh_max_connections: o.ssh_max_connections.or(layer.ssh_max_connections),
            ssh_max_per_ip: o.ssh_max_per_ip.or(layer.ssh_max_per_ip).unwrap_or(20),
            ssh_auth_timeout: layer.ssh_auth_timeout.unwrap_or(30).max(1),
            recovery_wait,
            recovery_wait_with_proof,
        })
    }

    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        crate::files::create_private_dir(&self.data_dir)
            .with_context(|| format!("creating the data folder {}", self.data_dir.display()))
    }

    pub fn host_key_path(&self) -> PathBuf {
        self.ssh_host_key.clone()
    }

    /// The database URL without any password, for logs.
    pub fn database_display(&self) -> String {
        match self.database_url.split_once('@') {
            Some((scheme_user, rest)) if scheme_user.contains("://") => {
                let (scheme, user) = scheme_user.split_once("://").unwrap_or(("", scheme_user));
                let user = user.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{rest}")
            }
            _ => self.database_url.clone(),
        }
    }

    /// How people run the SSH commands that ask for a password or a code,
    /// for help texts: `ssh -t -p 2222 git@host` (`-t`: a terminal, so what
    /// is typed is not shown on screen).
    pub fn ssh_hint(&self) -> String {
        let host = self.public_host();
        let port = self.ssh_addr.rsplit(':').next().unwrap_or("22");
        if port == "22" {
            format!("ssh -t git@{host}")
        } else {
            format!("ssh -t -p {port} git@{host}")
        }
    }

    /// Base of SSH clone URLs: `ssh://git@host:2222`.
    pub fn ssh_url(&self) -> String {
        let port = self.ssh_addr.rsplit(':').next().unwrap_or("22");
        format!("ssh://git@{}:{port}", self.public_host())
    }

    fn public_host(&self) -> String {
        self.public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost")
            .to_string()
    }
}

/// "72h", "90m", "30s", "2d" or plain seconds.
fn duration(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: i64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a duration like 72h, 90m or 30s"))?;
    let scale = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => anyhow::bail!("unknown unit {other:?} in {text:?}: use s, m, h or d"),
    };
    n.checked_mul(scale)
        .filter(|s| *s <= 365 * 86_400)
        .context("a duration of at most a year")
}

/// `http://localhost:PORT` for loopback and wildcard addresses (browsers accept
/// security keys on `localhost`, never on an IP address), else `http://ADDR`;
/// with ACME, `https://` and the first domain (the port left out when 443).
fn default_public_url(http_addr: &str, tls: Option<&crate::tls::Source>) -> String {
    let port = http_addr.rsplit_once(':').map(|(_, p)| p).unwrap_or("443");
    if let Some(crate::tls::Source::Acme(a)) = tls {
        let domain = a.domains.first().map(String::as_str).unwrap_or("localhost");
        return match port {
            "443" => format!("https://{domain}"),
            _ => format!("https://{domain}:{port}"),
        };
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    match http_addr.rsplit_once(':') {
        Some((host, port))
            if ["127.0.0.1", "0.0.0.0", "[::]", "[::1]", "localhost"].contains(&host) =>
        {
            format!("{scheme}://localhost:{port}")
        }
        _ => format!("{scheme}://{http_addr}"),
    }
}

/// Certificate files, or ACME for the listed domains, or neither.
fn tls_source(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    domains: Option<String>,
    mut acme: crate::tls::Acme,
) -> anyhow::Result<Option<crate::tls::Source>> {
    let domains: Vec<String> = domains
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    for d in &domains {
        let labels_ok = d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        let top_is_a_name = d
            .rsplit('.')
            .next()
            .is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit()));
        anyhow::ensure!(
            d.len() <= 253 && d.contains('.') && labels_ok && top_is_a_name,
            "acme_domain {d:?} is not a host name (git.example.com; CAs give no certificates for addresses)"
        );
    }
    match (cert, key, domains.is_empty()) {
        (None, None, true) => Ok(None),
        (Some(cert), Some(key), true) => Ok(Some(crate::tls::Source::Files { cert, key })),
        (Some(_), None, _) | (None, Some(_), _) => {
            anyhow::bail!("tls_cert and tls_key go together")
        }
        (Some(_), Some(_), false) => {
            anyhow::bail!("tls_cert and acme_domain exclude each other: one certificate source")
        }
        (None, None, false) => {
            acme.domains = domains;
            Ok(Some(crate::tls::Source::Acme(acme)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{default_public_url, duration};

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration("72h").unwrap(), 259_200);
        assert_eq!(duration("90m").unwrap(), 5_400);
        assert_eq!(duration("30").unwrap(), 30);
        assert_eq!(duration("2d").unwrap(), 172_800);
        assert!(duration("soon").is_err());
        assert!(duration("3w").is_err());
        assert!(duration("99999999999d").is_err());
    }

    #[test]
    fn acme_domains_must_be_host_names() {
        let acme = || crate::tls::Acme {
            domains: Vec::new(),
            directory: crate::tls::LETS_ENCRYPT.into(),
            contact: Vec::new(),
            ca: None,
            cache: "acme".into(),
        };
        assert!(super::tls_source(None, None, Some("git.example.com".into()), acme()).is_ok());
        for bad in [
            "1.2.3.4",
            "-bad-.example.com",
            "localhost",
            "a..b",
            "x_y.example.com",
        ] {
            assert!(
                super::tls_source(None, None, Some(bad.into()), acme()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn loopback_addresses_are_served_as_localhost() {
        assert_eq!(
            default_public_url("127.0.0.1:8080", None),
            "http://localhost:8080"
        );
        assert_eq!(
            default_public_url("0.0.0.0:80", None),
            "http://localhost:80"
        );
        assert_eq!(
            default_public_url("git.example.com:8080", None),
            "http://git.example.com:8080"
        );
    }
}
