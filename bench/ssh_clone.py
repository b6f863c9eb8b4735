"""Clone the same repositories over twostep SSH, OpenSSH sshd and file://.

Two repositories: one with real history (Rust crate sources from the local
cargo registry, committed one crate per commit) and one holding a single
100 MB incompressible blob. Each clone runs RUNS times; the median counts.
Baseline: OpenSSH. The goal is twostep <= 0.95x OpenSSH.
"""

import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ONLY = sys.argv[2] if len(sys.argv) > 2 else None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "twostep")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def git(*args, cwd=None, env=None):
    return run(["git", *args], cwd=cwd, env=env)


def make_history_repo(path):
    os.makedirs(path)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.email", "bench@example.net", cwd=path)
    git("config", "user.name", "bench", cwd=path)
    crates = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*")))[:200]
    for c in crates:
        dest = os.path.join(path, os.path.basename(c))
        shutil.copytree(c, dest, ignore=shutil.ignore_patterns("*.a", "*.so", "*.lib", "*.dll"))
        git("add", "-A", cwd=path)
        git("commit", "-q", "-m", "add " + os.path.basename(c), cwd=path)
    return len(crates)


def make_blob_repo(path):
    os.makedirs(path)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.email", "bench@example.net", cwd=path)
    git("config", "user.name", "bench", cwd=path)
    with open(os.path.join(path, "blob.bin"), "wb") as f:
        f.write(os.urandom(100 * 1024 * 1024))
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "100 MB blob", cwd=path)


def api(base, method, path, body=None, cookies=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json", **({"cookie": cookies} if cookies else {})})
    with urllib.request.urlopen(req) as r:
        return r.headers.get_all("set-cookie"), json.loads(r.read() or b"null")


def median_clone(url, env, work, label):
    times = []
    for i in range(RUNS):
        dest = os.path.join(work, f"clone-{label}-{i}")
        t = time.perf_counter()
        git("clone", "-q", "--no-checkout", url, dest, env=env)
        times.append(time.perf_counter() - t)
        shutil.rmtree(dest)
    return statistics.median(times)


def main():
    work = tempfile.mkdtemp(prefix="twostep-bench-")
    procs = []
    try:
        key = os.path.join(work, "id")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        ssh = f"ssh -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
        env = dict(os.environ, GIT_SSH_COMMAND=ssh, GIT_TERMINAL_PROMPT="0")

        print("preparing repositories...", flush=True)
        names = [n for n in ("history", "blob") if ONLY in (None, n)]
        n = make_history_repo(os.path.join(work, "history")) if "history" in names else 0
        if "blob" in names:
            make_blob_repo(os.path.join(work, "blob"))
        bare = {}
        for name in names:
            bare[name] = os.path.join(work, "bare", name + ".git")
            git("clone", "-q", "--bare", os.path.join(work, name), bare[name])
            git("repack", "-adq", cwd=bare[name])
        size = {k: sum(os.path.getsize(p) for p in glob.glob(v + "/objects/pack/*.pack")) for k, v in bare.items()}

        # OpenSSH sshd with git, on a free port.
        sshd_port = free_port()
        hostkey = os.path.join(work, "ssh_host_key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey])
        shutil.copy(key + ".pub", os.path.join(work, "authorized_keys"))
        conf = os.path.join(work, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"Port {sshd_port}\nListenAddress 127.0.0.1\nHostKey {hostkey}\nAuthorizedKeysFile {work}/authorized_keys\n"
                    f"StrictModes no\nUsePAM no\nPasswordAuthentication no\nPidFile {work}/sshd.pid\n")
        os.makedirs("/run/sshd", exist_ok=True)
        procs.append(subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stderr=subprocess.DEVNULL))

        # twostep on free ports.
        http, sshp = free_port(), free_port()
        base = f"http://127.0.0.1:{http}"
        procs.append(subprocess.Popen([BIN, "serve", "--data-dir", os.path.join(work, "twostep"), "--http-addr", f"127.0.0.1:{http}",
                                       "--ssh-addr", f"127.0.0.1:{sshp}"], stderr=subprocess.DEVNULL))
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/")
                socket.create_connection(("127.0.0.1", sshd_port)).close()
                break
            except OSError:
                time.sleep(0.1)
        api(base, "POST", "/api/v1/users", {"username": "bench", "email": "bench@example.net", "password": "quiet-meadow-4711"})
        cookies, _ = api(base, "POST", "/api/v1/session", {"login": "bench", "password": "quiet-meadow-4711"})
        cookie = "; ".join(c.split(";")[0] for c in cookies)
        api(base, "POST", "/api/v1/user/ssh-keys", {"key": open(key + ".pub").read()}, cookie)
        for name in names:
            api(base, "POST", "/api/v1/repositories", {"name": name}, cookie)
            git("push", "-q", "--mirror", f"ssh://git@127.0.0.1:{sshp}/bench/{name}.git", cwd=bare[name], env=env)

        print(f"\nmedian of {RUNS} clones (seconds); baseline: OpenSSH sshd\n")
        print(f"{'repository':<34} {'file://':>8} {'OpenSSH':>8} {'twostep':>8} {'twostep/OpenSSH':>16} {'twostep/file':>13}")
        for name in names:
            t_file = median_clone("file://" + bare[name], env, work, "file")
            t_ossh = median_clone(f"ssh://root@127.0.0.1:{sshd_port}{bare[name]}", env, work, "openssh")
            t_ts = median_clone(f"ssh://git@127.0.0.1:{sshp}/bench/{name}.git", env, work, "twostep")
            label = f"{name} ({size[name] / 1e6:.0f} MB pack" + (f", {n} commits)" if name == "history" else ")")
            print(f"{label:<34} {t_file:8.2f} {t_ossh:8.2f} {t_ts:8.2f} {t_ts / t_ossh:15.2f}x {t_ts / t_file:12.2f}x")
        print("\ngoal: twostep/OpenSSH <= 0.95x")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
