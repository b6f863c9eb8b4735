//! The Debian package: scripts/deb/build.sh packs the binary under test,
//! dpkg installs it on this machine, systemd-analyze checks the unit (and
//! rates its sandbox), `twostep migrate` and `doctor` run as the package's
//! user with its config, and dpkg removes and purges it cleanly. Needs root
//! and dpkg (as CI has); skipped with a note elsewhere.

use std::path::Path;
use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn installed() -> bool {
    run("dpkg-query", &["-W", "-f=${Status}", "twostep"])
        .stdout
        .starts_with(b"install ok installed")
}

#[test]
fn the_debian_package_installs_checks_out_and_goes_away_cleanly() {
    let root = unsafe { libc::geteuid() } == 0;
    if !root || Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("needs root and dpkg: skipped");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/deb/build.sh");
    let built = ok(
        "bash",
        &[
            script.to_str().unwrap(),
            "--binary",
            env!("CARGO_BIN_EXE_twostep"),
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    let deb = built
        .lines()
        .rfind(|l| l.ends_with(".deb"))
        .unwrap()
        .to_string();
    let info = ok("dpkg-deb", &["--info", &deb]);
    assert!(info.contains("Depends: libc6 (>= 2."), "{info}");
    let files = ok("dpkg-deb", &["--contents", &deb]);
    for f in [
        "./usr/bin/twostep",
        "./lib/systemd/system/twostep.service",
        "./etc/twostep/config.toml",
        "./usr/share/man/man1/twostep.1.gz",
        "./usr/share/man/man1/twostep-serve.1.gz",
    ] {
        assert!(files.contains(f), "{f} not in the package:\n{files}");
    }

    // A leftover of an interrupted earlier run goes first.
    let _ = run("dpkg", &["--purge", "twostep"]);
    ok("dpkg", &["--install", &deb]);
    assert!(installed());
    let unit = "/lib/systemd/system/twostep.service";
    let verify = ok("systemd-analyze", &["verify", unit]);
    assert!(!verify.contains("twostep.service"), "{verify}");
    let security = ok("systemd-analyze", &["security", "--offline=true", unit]);
    let level: f64 = security
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for twostep.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{security}"));
    assert!(level < 2.0, "the sandbox rates {level}:\n{security}");
    let man = ok("man", &["-P", "cat", "twostep-serve"]);
    assert!(man.contains("--trusted-proxies"), "{man}");

    // As the package's user, with its config: a new data folder made
    // ready by migrate passes every check of doctor.
    let config = "/etc/twostep/config.toml";
    let mode = ok("stat", &["-c", "%U:%G %a", config]);
    assert_eq!(mode.trim(), "root:twostep 640");
    ok(
        "runuser",
        &[
            "-u", "twostep", "--", "twostep", "migrate", "--config", config,
        ],
    );
    let doctor = ok(
        "runuser",
        &[
            "-u", "twostep", "--", "twostep", "doctor", "--config", config,
        ],
    );
    assert!(doctor.contains("Everything looks right"), "{doctor}");
    assert!(!doctor.contains("FIX"), "{doctor}");

    // Removed: the program goes, the config stays; purged: the config goes,
    // the data folder (people's repositories) stays, with a note.
    ok("dpkg", &["--remove", "twostep"]);
    assert!(!Path::new("/usr/bin/twostep").exists());
    assert!(Path::new(config).exists());
    let purged = ok("dpkg", &["--purge", "twostep"]);
    assert!(purged.contains("kept /var/lib/twostep"), "{purged}");
    assert!(!installed());
    for gone in [
        "/etc/twostep",
        unit,
        "/etc/systemd/system/multi-user.target.wants/twostep.service",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left behind");
    }
    assert!(Path::new("/var/lib/twostep/secret.key").exists());
    // This machine is a test machine: leave it as it was.
    let _ = std::fs::remove_dir_all("/var/lib/twostep");
    let _ = run("deluser", &["--quiet", "--system", "twostep"]);
    let _ = run("delgroup", &["--quiet", "--system", "twostep"]);
}
