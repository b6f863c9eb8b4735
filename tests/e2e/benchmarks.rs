//! The benchmarks still run: each script in bench/ at its smallest size
//! (BENCH_SMOKE=1) against this build, ending with its ratios. Their
//! figures are not checked here; they belong to the README's table.

use std::process::Command;

fn smoke(script: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new("bash")
        .arg(format!("{root}/bench/{script}"))
        .env("BENCH_SMOKE", "1")
        .env("TWOSTEP_BIN", env!("CARGO_BIN_EXE_twostep"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench/{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn clone_benchmark_runs() {
    let out = smoke("clone");
    for want in [
        "twostep SSH / OpenSSH",
        "twostep serv / OpenSSH",
        "twostep HTTP / twostep SSH",
        "ls-remote",
        "blob pushed",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
}

#[test]
fn sign_ins_benchmark_runs() {
    let out = smoke("sign-ins");
    assert!(out.contains("ratio sign-ins / raw Argon2id"), "{out}");
}

#[test]
fn recovery_code_benchmark_runs() {
    let out = smoke("recovery-code");
    assert!(
        out.contains("ratio (recovery-code check / one Argon2id hash)"),
        "{out}"
    );
}

#[test]
fn api_latency_benchmark_runs() {
    let out = smoke("api-latency");
    assert!(
        out.contains("session cookie") && out.contains("app password"),
        "{out}"
    );
    assert!(out.contains("p99"), "{out}");
}

#[test]
fn memory_benchmark_runs() {
    let out = smoke("memory");
    assert!(out.contains("idle SSH sessions signed in"), "{out}");
    assert!(
        out.contains("20 idle SSH sessions"),
        "every session signed in:\n{out}"
    );
    assert!(out.contains("ratio RSS"), "{out}");
}

#[test]
fn scale_benchmark_runs() {
    let out = smoke("scale");
    assert!(out.contains("sqlite") && out.contains("postgres"), "{out}");
    assert!(
        out.contains("every statement on these paths uses an index")
            || out.contains("full table scan"),
        "{out}"
    );
}
