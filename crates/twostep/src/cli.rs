use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

const ENV_HELP: &str = "\
Every option can also come from a config file (--config, TOML, same names with
underscores: http_addr = \"127.0.0.1:8080\") or an environment variable:
TWOSTEP_DATA_DIR, TWOSTEP_REPOSITORIES_DIR, TWOSTEP_SSH_HOST_KEY, TWOSTEP_HTTP_ADDR, TWOSTEP_SSH_ADDR, TWOSTEP_METRICS_ADDR, TWOSTEP_DATABASE_URL,
TWOSTEP_PUBLIC_URL, TWOSTEP_ISSUER, TWOSTEP_SMTP_URL, TWOSTEP_MAIL_FROM,
TWOSTEP_SECRET_KEY, TWOSTEP_LOG_FORMAT, TWOSTEP_TRUSTED_PROXIES, TWOSTEP_PROXY_HEADER,
TWOSTEP_TLS_CERT, TWOSTEP_TLS_KEY, TWOSTEP_ACME_DOMAIN, TWOSTEP_ACME_DIRECTORY, TWOSTEP_ACME_CONTACT, TWOSTEP_ACME_CA,
TWOSTEP_ACME_CACHE, TWOSTEP_REDIRECT_ADDR. Flags win over the environment, which wins over the file.
Log level: TWOSTEP_LOG (e.g. debug).";

/// twostep: a self-hosted Git server built around two-step verification and account recovery.
#[derive(Parser, Debug)]
#[command(name = "twostep", version, about, after_help = ENV_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the web pages, the JSON API and (from the Git issue on) the SSH server.
    #[command(after_help = ENV_HELP)]
    Serve(Options),
    /// Create or update the database schema, then exit.
    #[command(after_help = ENV_HELP)]
    Migrate(Options),
    /// Check the data folder, keys, database schema, free disk and git, and say what to fix.
    #[command(after_help = ENV_HELP)]
    Doctor(Options),
    /// Write one consistent archive (database, repositories, secret and host keys, a manifest with checksums) while the server runs.
    #[command(after_help = ENV_HELP)]
    Backup(BackupArgs),
    /// Unpack a backup into a new data folder (refuses to write over anything, checks every checksum first).
    Restore(RestoreArgs),
    /// Print the OpenAPI document of /api/v1.
    Openapi,
    /// Print what each action needs, every route and SSH command with its action (Markdown, as in the README).
    Requirements,
    /// Administrators: grant, revoke, reset two-step, unlock, audit log, users (works with the server stopped).
    Admin(crate::admin_cli::AdminArgs),
    /// For OpenSSH's AuthorizedKeysCommand: print the forced-command line of a registered key.
    Keys(crate::openssh::KeysArgs),
    /// Run one SSH command behind OpenSSH (the forced command `twostep keys` prints).
    Serv(crate::openssh::ServArgs),
    /// Raw Argon2id verifications per second with the server's parameters (bench/sign-ins' baseline).
    #[command(hide = true)]
    HashRate(crate::hash_rate::HashRateArgs),
    /// Write the man pages (twostep.1, twostep-serve.1, …) into DIR, for packagers.
    #[command(hide = true)]
    Man {
        /// The folder to write into (made if missing).
        dir: PathBuf,
    },
    /// Print the SSH host key's fingerprint (creating the key on first use), to compare with what ssh shows.
    #[command(after_help = ENV_HELP)]
    SshHostKey(Options),
}

#[derive(Args, Debug, Clone, Default)]
pub struct Options {
    /// TOML config file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database, the secret key and the mail outbox [default: ./data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of the bare repositories; nodes behind one load balancer share it [default: DATA/repositories].
    #[arg(long, value_name = "DIR")]
    pub repositories_dir: Option<PathBuf>,
    /// The SSH host key (OpenSSH private key file, made on first use); nodes share one [default: DATA/ssh_host_ed25519_key].
    #[arg(long, value_name = "FILE")]
    pub ssh_host_key: Option<PathBuf>,
    /// Address of the web pages and API [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    pub http_addr: Option<String>,
    /// Address of the SSH server [default: 127.0.0.1:2222].
    #[arg(long, value_name = "HOST:PORT")]
    pub ssh_addr: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the data folder].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The URL people use to reach the web pages, for links in mail and security keys [default: http://localhost:PORT for a loopback HTTP_ADDR].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Name shown in authenticator apps and mail [default: twostep].
    #[arg(long)]
    pub issuer: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (no authentication: use an internal address) [default: off].
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// HTTP connections served at once; more wait in the backlog [default: half the open-files limit].
    #[arg(long, value_name = "N")]
    pub http_max_connections: Option<usize>,
    /// SSH connections open at once [default: the open-files limit / 124 (room for 10 git commands each)].
    #[arg(long, value_name = "N")]
    pub ssh_max_connections: Option<usize>,
    /// SSH connections one IP address may hold open [default: 20].
    #[arg(long, value_name = "N")]
    pub ssh_max_per_ip: Option<usize>,
    /// Load balancers whose word about the client is taken: addresses and CIDR ranges, comma-separated (HTTP: X-Forwarded-For or Forwarded, see proxy_header; SSH: a PROXY protocol v1/v2 header) [default: none].
    #[arg(long, value_name = "RANGES")]
    pub trusted_proxies: Option<String>,
    /// The header trusted proxies write the client into: x-forwarded-for or forwarded [default: x-forwarded-for].
    #[arg(long, value_name = "HEADER")]
    pub proxy_header: Option<String>,
    /// Serve HTTPS on --http-addr with this certificate chain (PEM; read again on SIGHUP) [default: plain HTTP].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate for these host names (comma-separated) obtained and renewed over ACME (tls-alpn-01: the CA must reach --http-addr on port 443).
    #[arg(long, value_name = "NAMES", conflicts_with = "tls_cert")]
    pub acme_domain: Option<String>,
    /// The ACME directory [default: Let's Encrypt, https://acme-v02.api.letsencrypt.org/directory].
    #[arg(long, value_name = "URL")]
    pub acme_directory: Option<String>,
    /// Address the CA writes to about the certificate (expiry, problems).
    #[arg(long, value_name = "EMAIL")]
    pub acme_contact: Option<String>,
    /// A root certificate (PEM) to trust for the ACME directory, for a private CA [default: the system's roots].
    #[arg(long, value_name = "FILE")]
    pub acme_ca: Option<PathBuf>,
    /// Where ACME certificates and the account are kept; nodes behind one name share it [default: DATA/acme].
    #[arg(long, value_name = "DIR")]
    pub acme_cache: Option<PathBuf>,
    /// Also listen for plain HTTP here and redirect every request to the https:// public URL (e.g. 0.0.0.0:80) [default: off].
    #[arg(long, value_name = "HOST:PORT")]
    pub redirect_addr: Option<String>,
    /// How long self-service account recovery waits: 72h, 90m, 30s… [default: 72h].
    #[arg(long, value_name = "DURATION")]
    pub recovery_wait: Option<String>,
    /// How long it waits with a second proof (an SSH key or a known browser) [default: 24h].
    #[arg(long, value_name = "DURATION")]
    pub recovery_wait_with_proof: Option<String>,
    /// Send mail over SMTP: smtp://HOST:PORT, smtp://USER:PASS@HOST:587?tls=required, smtps://… [default: outbox folder].
    #[arg(long, value_name = "URL")]
    pub smtp_url: Option<String>,
    /// Sender address of mail [default: twostep <noreply@localhost.localdomain>].
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Log lines as `text` for people or `json` for machines, one object a line (this flag or TWOSTEP_LOG_FORMAT; logging starts before the config file is read) [default: text].
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub options: Options,
    /// The archive to write (a new file; it holds the secret key: keep it private).
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The archive `twostep backup` wrote.
    pub file: PathBuf,
    /// The new data folder (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Put the repositories here instead of DATA/repositories (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub repositories_dir: Option<PathBuf>,
}

impl Cli {
    /// `--log-format`, else TWOSTEP_LOG_FORMAT: whether log lines are JSON.
    pub fn json_logs(&self) -> bool {
        let flag = match &self.command {
            Command::Serve(o)
            | Command::Migrate(o)
            | Command::SshHostKey(o)
            | Command::Doctor(o) => o.log_format.clone(),
            Command::Admin(a) => a.command.log_format(),
            Command::Keys(k) => k.options.log_format.clone(),
            Command::Serv(s) => s.options.log_format.clone(),
            Command::Backup(b) => b.options.log_format.clone(),
            Command::Openapi
            | Command::Requirements
            | Command::HashRate(_)
            | Command::Man { .. }
            | Command::Restore(_) => None,
        };
        flag.or_else(|| std::env::var("TWOSTEP_LOG_FORMAT").ok())
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("json"))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(o) => crate::serve::serve(Config::load(&o)?).await,
        Command::Migrate(o) => {
            let cfg = Config::load(&o)?;
            cfg.prepare_data_dir()?;
            // A new data folder gets what `serve` would make at its first
            // start, so `backup` and `doctor` work right after.
            crate::keyfile::load_or_create(&cfg.data_dir, cfg.secret_key.as_deref())?;
            twostep_ssh::load_or_create_host_key(&cfg.host_key_path())?;
            let store = twostep_store::Store::open(&cfg.database_url).await?;
            store.close().await;
            println!("database schema is up to date ({})", cfg.database_display());
            Ok(())
        }
        Command::SshHostKey(o) => {
            let cfg = Config::load(&o)?;
            cfg.prepare_data_dir()?;
            let key = twostep_ssh::load_or_create_host_key(&cfg.host_key_path())?;
            println!("{}", twostep_ssh::fingerprint(&key));
            println!("{}", key.public_key().to_openssh().unwrap_or_default());
            Ok(())
        }
        Command::Admin(a) => crate::admin_cli::run(a).await,
        Command::Keys(k) => crate::openssh::keys(k).await,
        Command::HashRate(h) => crate::hash_rate::run(h),
        Command::Serv(s) => {
            let status = crate::openssh::serv(s).await?;
            std::process::exit(status as i32)
        }
        Command::Backup(b) => crate::backup::run(Config::load(&b.options)?, b.file).await,
        Command::Restore(r) => {
            crate::restore::run(&r.file, &r.data_dir, r.repositories_dir.as_deref())
        }
        Command::Doctor(o) => crate::doctor::run(Config::load(&o)?).await,
        Command::Openapi => {
            println!("{}", twostep_web::openapi_json());
            Ok(())
        }
        Command::Requirements => {
            print!("{}", crate::requirements::markdown());
            Ok(())
        }
        Command::Man { dir } => crate::man::write(&dir),
    }
}
