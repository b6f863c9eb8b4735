//! Crash safety: SIGKILL at random moments during a mixed load (sign-ups,
//! two-step being turned on, sign-ins, recovery codes regenerated,
//! repositories created and deleted, pushes), 50 times, restarting the
//! server on the same data each time, then the invariants: no half-enabled
//! two-step, recovery codes a whole set, repository records and folders
//! agree, every push git reported as accepted is there, and SQLite's
//! `PRAGMA integrity_check` passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common;
use crate::postgres::Database;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::git::{working_copy, Git};
use common::mail::MailSource;
use common::otp::{now, oathtool, secret_of, Phone};
use common::{ssh_keygen, Server, ServerOptions};

const RESTARTS: usize = 50;

/// A small deterministic generator (the seed is printed, to replay a run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What the load knows across restarts: where the server is now, and what
/// it was told succeeded.
struct Shared {
    base: Mutex<String>,
    ssh_port: AtomicUsize,
    stop: AtomicBool,
    accepted: Mutex<Vec<String>>,
    counter: AtomicUsize,
}

impl Shared {
    fn base(&self) -> String {
        self.base.lock().unwrap().clone()
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// One API call that may fail (the server can die under it).
fn call(
    http: &reqwest::blocking::Client,
    base: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Value,
) -> Option<(u16, Value, Option<String>)> {
    let url = format!("{base}/api/v1{path}");
    let mut req = match method {
        "DELETE" => http.delete(url),
        _ => http.post(url).json(&body),
    };
    if let Some(c) = cookie {
        req = req.header("cookie", format!("twostep_session={c}"));
    }
    let r = req.send().ok()?;
    let status = r.status().as_u16();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("twostep_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let v = r.json().unwrap_or(Value::Null);
    Some((status, v, set))
}

fn mail_link(
    shared: &Shared,
    mail: &MailSource,
    to: &str,
    subject: &str,
    path: &str,
) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !shared.stop.load(Ordering::SeqCst) {
        if let Some(m) = mail
            .all()
            .into_iter()
            .rev()
            .find(|m| m.to.contains(to) && m.subject.contains(subject) && m.raw.contains(path))
        {
            let token = m.link(path).split("token=").nth(1)?.to_string();
            return Some(token);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// An account on its way to two-step, step by step; kept across restarts
/// so the steps after a kill continue where the last one got.
#[derive(Default)]
struct Enabling {
    name: String,
    stage: u8,
    cookie: Option<String>,
    phone: Option<Phone>,
    failures: u32,
}

/// Signs accounts up and turns two-step on, until told to stop.
fn enabler(shared: &Shared, mail: &MailSource, state: &Mutex<Enabling>, keys: &Path) {
    let http = client();
    let mut e = state.lock().unwrap();
    while !shared.stop.load(Ordering::SeqCst) {
        if e.name.is_empty() || e.failures > 20 {
            let n = shared.counter.fetch_add(1, Ordering::SeqCst);
            *e = Enabling {
                name: format!("en{n}"),
                ..Default::default()
            };
        }
        let base = shared.base();
        let name = e.name.clone();
        let email = format!("{name}@example.net");
        let cookie = e.cookie.clone();
        let ok =
            |r: Option<(u16, Value, Option<String>)>| r.filter(|(s, _, _)| (200..300).contains(s));
        let done = match e.stage {
            0 => ok(call(
                &http,
                &base,
                "POST",
                "/users",
                None,
                json!({"username": name, "email": email, "password": PASSWORD}),
            ))
            .is_some(),
            1 => mail_link(
                shared,
                mail,
                &email,
                "Confirm your email address",
                "/confirm-email",
            )
            .and_then(|t| {
                ok(call(
                    &http,
                    &base,
                    "POST",
                    "/users/confirm-email",
                    None,
                    json!({"token": t, "password": PASSWORD}),
                ))
            })
            .is_some(),
            2 => match ok(call(
                &http,
                &base,
                "POST",
                "/session",
                None,
                json!({"login": name, "password": PASSWORD}),
            )) {
                Some((_, _, Some(c))) => {
                    e.cookie = Some(c);
                    true
                }
                _ => false,
            },
            3 => {
                let (_, public) = ssh_keygen(keys, &format!("{name}-{}", e.failures));
                ok(call(
                    &http,
                    &base,
                    "POST",
                    "/user/ssh-keys",
                    cookie.as_deref(),
                    json!({"key": public, "password": PASSWORD}),
                ))
                .is_some()
            }
            4 => match ok(call(
                &http,
                &base,
                "POST",
                "/user/two-step/setup",
                cookie.as_deref(),
                json!({}),
            )) {
                Some((_, v, _)) => {
                    e.phone = v["otpauth_uri"].as_str().map(Phone::new);
                    e.phone.is_some()
                }
                None => false,
            },
            5 => {
                let secret = e
                    .phone
                    .as_ref()
                    .map(|p| secret_of(&p.uri))
                    .unwrap_or_default();
                let code = oathtool(&secret, now());
                ok(call(
                    &http,
                    &base,
                    "POST",
                    "/user/two-step/setup/verify",
                    cookie.as_deref(),
                    json!({"code": code}),
                ))
                .is_some()
            }
            _ => mail_link(
                shared,
                mail,
                &email,
                "Confirm turning on",
                "/account/two-step/confirm",
            )
            .and_then(|t| {
                ok(call(
                    &http,
                    &base,
                    "POST",
                    "/user/two-step/confirm",
                    cookie.as_deref(),
                    json!({"token": t}),
                ))
            })
            .is_some(),
        };
        if std::env::var_os("TWOSTEP_CRASH_DEBUG").is_some() {
            eprintln!(
                "{} stage {} done {done} failures {}",
                e.name, e.stage, e.failures
            );
        }
        if done && e.stage == 6 {
            e.name.clear();
        } else if done {
            e.stage += 1;
            e.failures = 0;
        } else {
            e.failures += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sign-ins of the two-step account (the password step) and sign-ups.
fn signer(shared: &Shared) {
    let http = client();
    while !shared.stop.load(Ordering::SeqCst) {
        let base = shared.base();
        let n = shared.counter.fetch_add(1, Ordering::SeqCst);
        let _ = call(
            &http,
            &base,
            "POST",
            "/session",
            None,
            json!({"login": "kim", "password": PASSWORD}),
        );
        let _ = call(
            &http,
            &base,
            "POST",
            "/users",
            None,
            json!({"username": format!("su{n}"), "email": format!("su{n}@example.net"), "password": PASSWORD}),
        );
    }
}

/// New recovery codes (in the session's sudo window) and repositories
/// made and deleted, by kim.
fn changer(shared: &Shared, cookie: &str) {
    let http = client();
    while !shared.stop.load(Ordering::SeqCst) {
        let base = shared.base();
        let n = shared.counter.fetch_add(1, Ordering::SeqCst);
        let _ = call(
            &http,
            &base,
            "POST",
            "/user/two-step/recovery-codes",
            Some(cookie),
            json!({}),
        );
        let name = format!("churn{n}");
        let _ = call(
            &http,
            &base,
            "POST",
            "/repositories",
            Some(cookie),
            json!({"name": name, "description": "", "private": true}),
        );
        if n.is_multiple_of(2) {
            let _ = call(
                &http,
                &base,
                "DELETE",
                &format!("/repositories/kim/{name}?confirm={name}"),
                Some(cookie),
                Value::Null,
            );
        }
    }
}

/// Pushes commit after commit; records each one git reported as pushed.
fn pusher(shared: &Shared, git: &Git, work: &Path) {
    while !shared.stop.load(Ordering::SeqCst) {
        let i = shared.counter.fetch_add(1, Ordering::SeqCst);
        let port = shared.ssh_port.load(Ordering::SeqCst);
        std::fs::write(work.join("counter.txt"), format!("{i}\n")).unwrap();
        git.ok(&["add", "."], Some(work));
        git.ok(&["commit", "-q", "-m", &format!("commit {i}")], Some(work));
        let url = format!("ssh://git@127.0.0.1:{port}/kim/pushed.git");
        if git
            .run(&["push", "-q", &url, "HEAD:main"], Some(work))
            .status
            .success()
        {
            let head = git
                .ok(&["rev-parse", "HEAD"], Some(work))
                .trim()
                .to_string();
            shared.accepted.lock().unwrap().push(head);
        }
    }
}

/// Answers one SQL query with one number, through the backend's own client.
fn scalar(db: &Backend, sql: &str) -> i64 {
    let out = match db {
        Backend::Sqlite(path) => Command::new("sqlite3").arg(path).arg(sql).output().unwrap(),
        Backend::Postgres(d) => Command::new("psql")
            .arg(d.url())
            .args(["-tA", "-c", sql])
            .output()
            .unwrap(),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: {text} {}", String::from_utf8_lossy(&out.stderr)))
}

fn lines(db: &Backend, sql: &str) -> Vec<String> {
    let out = match db {
        Backend::Sqlite(path) => Command::new("sqlite3").arg(path).arg(sql).output().unwrap(),
        Backend::Postgres(d) => Command::new("psql")
            .arg(d.url())
            .args(["-tA", "-c", sql])
            .output()
            .unwrap(),
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

enum Backend {
    Sqlite(PathBuf),
    Postgres(Database),
}

fn check_invariants(db: &Backend, repos: &Path, accepted: &[String], round: usize) {
    if let Backend::Sqlite(path) = db {
        let out = Command::new("sqlite3")
            .arg(path)
            .arg("PRAGMA integrity_check")
            .output()
            .expect("sqlite3 is installed (the test script installs it)");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "ok",
            "round {round}"
        );
    }
    let half = scalar(db, "SELECT COUNT(*) FROM users u WHERE u.two_step_enabled_at IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM authenticators a WHERE a.user_id = u.id AND a.status = 'active') OR NOT EXISTS (SELECT 1 FROM recovery_codes r WHERE r.user_id = u.id))");
    assert_eq!(
        half, 0,
        "round {round}: two-step on without an authenticator or codes"
    );
    let half = scalar(db, "SELECT COUNT(*) FROM users u WHERE u.two_step_enabled_at IS NULL AND EXISTS (SELECT 1 FROM authenticators a WHERE a.user_id = u.id AND a.status = 'active')");
    assert_eq!(
        half, 0,
        "round {round}: an active authenticator while two-step is off"
    );
    let torn = scalar(db, "SELECT COUNT(*) FROM (SELECT user_id, COUNT(*) AS n, COUNT(DISTINCT created_at) AS g FROM recovery_codes GROUP BY user_id) t WHERE n <> 6 OR g <> 1");
    assert_eq!(torn, 0, "round {round}: recovery codes not one whole set");

    let mut records = lines(db, "SELECT u.username || '/' || r.name || '.git' FROM repositories r JOIN users u ON u.id = r.owner_id");
    records.sort();
    let mut folders = Vec::new();
    for owner in std::fs::read_dir(repos).unwrap().flatten() {
        for repo in std::fs::read_dir(owner.path()).unwrap().flatten() {
            folders.push(format!(
                "{}/{}",
                owner.file_name().to_string_lossy(),
                repo.file_name().to_string_lossy()
            ));
        }
    }
    folders.sort();
    for r in &records {
        assert!(
            folders.contains(r),
            "round {round}: record {r} without its folder: {folders:?}"
        );
    }
    for f in &folders {
        if records.contains(f) {
            continue;
        }
        // On PostgreSQL another node could be between its rename and its
        // commit, or still making its temporary folder (a killed server's
        // `git init` dies with it, half done), so only an empty repository
        // or a temporary folder being made may wait for the check's grace
        // period there; on SQLite nothing may.
        let file = f.rsplit('/').next().unwrap_or(f);
        let being_made = file.starts_with('.') && file.contains(".git.creating-");
        let empty = Command::new("git")
            .arg("--git-dir")
            .arg(repos.join(f))
            .args(["for-each-ref", "--count=1"])
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.is_empty());
        assert!(
            matches!(db, Backend::Postgres(_)) && (being_made || (empty && !file.starts_with('.'))),
            "round {round}: folder {f} without a record"
        );
    }
    let pushed = repos.join("kim/pushed.git");
    if let Some(last) = accepted.last() {
        let ok = Command::new("git")
            .arg("--git-dir")
            .arg(&pushed)
            .args(["merge-base", "--is-ancestor", last, "refs/heads/main"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "round {round}: accepted push {last} is gone");
    }
}

fn crash_test(db: Backend, data: &Path, database_url: Option<String>, seed: u64) {
    let start = |data: &Path| {
        Server::start_with(ServerOptions {
            data_dir: Some(data.to_path_buf()),
            database_url: database_url.clone(),
            ..Default::default()
        })
    };
    // Before the first kill: kim with two-step on, a repository with a
    // commit, and a session in its sudo window for the changes.
    let server = start(data);
    let kim = account(&server, "kim");
    let (mut phone, _) = enable_two_step(&server, &kim);
    kim.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "pushed", "description": "", "private": true})),
    );
    let session = common::api::ApiClient::new(&server);
    session.ok(
        "POST",
        "/session",
        Some(json!({"login": "kim", "password": PASSWORD})),
    );
    session.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    session.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": phone.next_code()})),
    );
    let cookie = session.cookie("twostep_session").unwrap();
    let outside = tempfile::tempdir().unwrap();
    let key = outside.path().join("kim_id");
    std::fs::copy(&kim.key, &key).unwrap();
    let home = outside.path().join("home");
    let git = Git::at(home.clone(), server.ssh_port, "kim", &key);
    let work = outside.path().join("work");
    working_copy(&git, &work, &[("README", "crash test\n")]);
    let shared = Arc::new(Shared {
        base: Mutex::new(server.base.clone()),
        ssh_port: AtomicUsize::new(server.ssh_port as usize),
        stop: AtomicBool::new(false),
        accepted: Mutex::new(Vec::new()),
        counter: AtomicUsize::new(0),
    });
    let mail = MailSource::Outbox(data.join("outbox"));
    let mut rng = Lcg(seed);
    let repos = data.join("repositories");
    let enabling: Arc<Mutex<Enabling>> = Arc::default();
    let mut server = Some(server);
    let began = Instant::now();
    let rounds = std::env::var("TWOSTEP_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(RESTARTS);
    for round in 0..rounds {
        let s = match server.take() {
            Some(s) => s,
            None => start(data),
        };
        *shared.base.lock().unwrap() = s.base.clone();
        shared.ssh_port.store(s.ssh_port as usize, Ordering::SeqCst);
        shared.stop.store(false, Ordering::SeqCst);
        let workers = vec![
            {
                let sh = shared.clone();
                let mail = mail.clone();
                let enabling = enabling.clone();
                let keys = outside.path().to_path_buf();
                std::thread::spawn(move || enabler(&sh, &mail, &enabling, &keys))
            },
            {
                let sh = shared.clone();
                std::thread::spawn(move || signer(&sh))
            },
            {
                let sh = shared.clone();
                let cookie = cookie.clone();
                std::thread::spawn(move || changer(&sh, &cookie))
            },
            {
                let sh = shared.clone();
                let git = Git::at(home.clone(), s.ssh_port, "kim", &key);
                let work = work.clone();
                std::thread::spawn(move || pusher(&sh, &git, &work))
            },
        ];
        std::thread::sleep(Duration::from_millis(200 + rng.below(1000)));
        drop(s); // SIGKILL
        shared.stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().expect("a load worker panicked");
        }
        // The start-up check runs before the restarted server answers.
        let s = start(data);
        let accepted = shared.accepted.lock().unwrap().clone();
        check_invariants(&db, &repos, &accepted, round);
        server = Some(s);
    }
    let accepted = shared.accepted.lock().unwrap().len();
    let enabled = scalar(
        &db,
        "SELECT COUNT(*) FROM users WHERE two_step_enabled_at IS NOT NULL",
    );
    let repositories = scalar(&db, "SELECT COUNT(*) FROM repositories");
    eprintln!(
        "{rounds} kills in {:.0?} (seed {seed}): {accepted} pushes accepted, {enabled} accounts with two-step on, {repositories} repositories",
        began.elapsed()
    );
    let regenerated = scalar(
        &db,
        "SELECT COUNT(*) FROM security_log WHERE event = 'recovery_codes.regenerated'",
    );
    // The load did what it says: the invariants were tested on real changes.
    assert!(
        regenerated >= 5,
        "{regenerated} sets of recovery codes made"
    );
    assert!(accepted >= 5, "{accepted} pushes accepted");
    assert!(enabled >= 2, "{enabled} accounts with two-step on");
    assert!(repositories >= 3, "{repositories} repositories");
}

fn seed() -> u64 {
    std::env::var("TWOSTEP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

#[test]
fn sigkill_during_a_mixed_load_on_sqlite_leaves_every_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crash_test(
        Backend::Sqlite(data.join("twostep.db")),
        &data,
        None,
        seed(),
    );
}

#[test]
fn sigkill_during_a_mixed_load_on_postgresql_leaves_every_invariant() {
    let Some(db) = Database::create() else {
        return;
    };
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crash_test(Backend::Postgres(db), &data, Some(url), seed());
}
