"""Clones of the same bare repositories over every way twostep serves them.

Three repositories (real history, many small files, one incompressible blob)
are pushed to twostep over its SSH server, then served from that one bare
folder by: file://, OpenSSH's sshd (the baseline), twostep's SSH server,
twostep behind OpenSSH (`twostep keys` + `twostep serv`), and twostep's Git
over HTTP. Runs are interleaved; medians count. Also: `git ls-remote` over
HTTP vs SSH, and a blob that arrived by push (kept as a pack, housekeeping
after the push) against the same blob repacked.

    bash bench/clone [RUNS]        (BENCH_SMOKE=1: tiny repositories, 1 run)
"""

import glob
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import (BIN, SMOKE, Account, Server, cleanup, cpu_seconds, free_port, git_env, machine,
                           median, run, ssh_command, ssh_key, workdir)

RUNS = 1 if SMOKE else int(sys.argv[1]) if len(sys.argv) > 1 else 5
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
LOGIN = run(["id", "-un"]).stdout.decode().strip()


def git(*args, cwd=None, env=None):
    return run(["git", *args], cwd=cwd, env=env)


def fresh(path):
    os.makedirs(path)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.email", "bench@example.net", cwd=path)
    git("config", "user.name", "bench", cwd=path)


def make_history(path):
    fresh(path)
    crates = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*")))[: 5 if SMOKE else 200]
    for c in crates:
        shutil.copytree(c, os.path.join(path, os.path.basename(c)),
                        ignore=shutil.ignore_patterns("*.a", "*.so", "*.lib", "*.dll"))
        git("add", "-A", cwd=path)
        git("commit", "-q", "-m", "add " + os.path.basename(c), cwd=path)
    return f"{len(crates)} commits"


def make_small_files(path):
    fresh(path)
    n = 200 if SMOKE else 50_000
    for i in range(n):
        d = os.path.join(path, f"d{i // 1000:03}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05}.txt"), "w") as f:
            f.write(f"file {i}\n{os.urandom(24).hex()}\n")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", f"{n} files", cwd=path)
    return f"{n} files"


def make_blob(path):
    fresh(path)
    mb = 1 if SMOKE else 100
    with open(os.path.join(path, "blob.bin"), "wb") as f:
        f.write(os.urandom(mb * 1024 * 1024))
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "blob", cwd=path)
    return f"{mb} MB blob"


def sshd(work, name, extra):
    """OpenSSH's sshd on a free port; `extra` lines decide how keys are found."""
    port = free_port()
    d = os.path.join(work, name)
    os.makedirs(d)
    hostkey = os.path.join(d, "host_key")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey])
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {hostkey}\nStrictModes no\nUsePAM no\n"
                f"PasswordAuthentication no\nPidFile {d}/sshd.pid\nAcceptEnv GIT_PROTOCOL\n{extra}")
    os.makedirs("/run/sshd", exist_ok=True)
    p = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stderr=open(os.path.join(d, "log"), "w"))
    for _ in range(100):
        try:
            __import__("socket").create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    return p, port


def wait_housekeeping(server, pushes):
    log = server.log.name
    for _ in range(1200):
        if open(log).read().count("repository housekeeping done") >= pushes:
            return
        time.sleep(0.1)
    raise RuntimeError("housekeeping did not finish")


def clone_once(url, env, dest):
    t = time.perf_counter()
    git("clone", "-q", "--no-checkout", url, dest, env=env)
    dt = time.perf_counter() - t
    shutil.rmtree(dest)
    return dt


def main():
    work = workdir()
    procs = []
    try:
        key = ssh_key(work)
        env = git_env(ssh_command(key))
        print("preparing repositories...", flush=True)
        makers = {"history": make_history, "small-files": make_small_files, "blob": make_blob}
        what = {name: make(os.path.join(work, "src", name)) for name, make in makers.items()}

        server = Server(work)
        procs.append(server)
        bench = Account(server, "bench")
        bench.add_ssh_key(open(key + ".pub").read())
        app_pw = bench.app_password(("repository:read", "repository:write"))
        names = list(makers) + ["blob-repacked"]
        for name in names:
            bench.api.ok("POST", "/repositories", {"name": name})
            src = os.path.join(work, "src", name.replace("-repacked", ""))
            git("push", "-q", f"ssh://git@127.0.0.1:{server.ssh_port}/bench/{name}.git", "main", cwd=src, env=env)
        wait_housekeeping(server, len(names))
        git("repack", "-adfq", cwd=server.repo_dir("bench", "blob-repacked"))
        pack_mb = {n: sum(os.path.getsize(p) for p in glob.glob(server.repo_dir("bench", n) + "/objects/pack/*.pack")) / 1e6
                   for n in names}

        # OpenSSH with the key in a file (the baseline), and OpenSSH asking twostep.
        shutil.copy(key + ".pub", os.path.join(work, "authorized_keys"))
        ossh, ossh_port = sshd(work, "openssh", f"AuthorizedKeysFile {work}/authorized_keys\n")
        bindir = f"/run/twostep-bench-{os.getpid()}"
        os.makedirs(bindir, mode=0o755, exist_ok=True)
        shutil.copy(BIN, bindir + "/twostep")
        serv, serv_port = sshd(work, "serv", f"AuthorizedKeysFile none\nAuthorizedKeysCommand {bindir}/twostep keys "
                                             f"--data-dir {server.data} --fingerprint %f\nAuthorizedKeysCommandUser {LOGIN}\n")
        procs += [ossh, serv]

        ways = {
            "file://": (lambda n: "file://" + server.repo_dir("bench", n), None),
            "OpenSSH": (lambda n: f"ssh://{LOGIN}@127.0.0.1:{ossh_port}{server.repo_dir('bench', n)}", ossh.pid),
            "twostep SSH": (lambda n: f"ssh://git@127.0.0.1:{server.ssh_port}/bench/{n}.git", server.pid),
            "twostep serv": (lambda n: f"ssh://{LOGIN}@127.0.0.1:{serv_port}/bench/{n}.git", serv.pid),
            "twostep HTTP": (lambda n: f"http://bench:{app_pw}@127.0.0.1:{server.http}/bench/{n}.git", server.pid),
        }
        times = {(n, w): [] for n in names for w in ways}
        cpu = {(n, w): [] for n in names for w in ways}
        for i in range(RUNS):
            for n in names:
                for w, (url, pid) in ways.items():
                    if n == "blob-repacked" and w not in ("twostep SSH",):
                        continue
                    before = cpu_seconds(pid) if pid else 0
                    times[(n, w)].append(clone_once(url(n), env, os.path.join(work, "clone")))
                    cpu[(n, w)].append(cpu_seconds(pid) - before if pid else 0)

        ls = {"SSH": [], "HTTP": []}
        for i in range(3 if SMOKE else 30):
            for w, url in (("SSH", ways["twostep SSH"][0]("history")), ("HTTP", ways["twostep HTTP"][0]("history"))):
                t = time.perf_counter()
                git("ls-remote", url, env=env)
                ls[w].append(time.perf_counter() - t)

        print(f"\n{machine()}; median of {RUNS} interleaved clones (git clone --no-checkout)\n")
        head = f"{'repository':<28} {'server':<14} {'seconds':>8} {'MB/s':>7} {'server CPU s':>13}"
        print(head)
        print("-" * len(head))
        for n in makers:
            for w in ways:
                t = median(times[(n, w)])
                c = median(cpu[(n, w)])
                print(f"{n + ' (' + what[n] + ')':<28} {w:<14} {t:8.3f} {pack_mb[n] / t:7.1f} {f'{c:.2f}' if w != 'file://' else '-':>13}")
        print("\nratios (lower is faster; goal in brackets)")
        for n in makers:
            o = median(times[(n, "OpenSSH")])
            s = median(times[(n, "twostep SSH")])
            print(f"  {n:<12} twostep SSH / OpenSSH    {s / o:5.2f}x  [<= 0.95]")
            print(f"  {n:<12} twostep serv / OpenSSH   {median(times[(n, 'twostep serv')]) / o:5.2f}x")
            print(f"  {n:<12} twostep HTTP / twostep SSH {median(times[(n, 'twostep HTTP')]) / s:5.2f}x  [<= 1.1]")
        print(f"  ls-remote    HTTP / SSH               {median(ls['HTTP']) / median(ls['SSH']):5.2f}x  [<= 1.2]"
              f"  ({median(ls['HTTP']) * 1000:.0f} ms vs {median(ls['SSH']) * 1000:.0f} ms)")
        print(f"  blob pushed (kept pack + housekeeping) / repacked {median(times[('blob', 'twostep SSH')]) / median(times[('blob-repacked', 'twostep SSH')]):5.2f}x  [~1.0]")
    finally:
        for p in procs:
            (p.stop() if isinstance(p, Server) else p.terminate())
        shutil.rmtree(f"/run/twostep-bench-{os.getpid()}", ignore_errors=True)
        cleanup(work)


if __name__ == "__main__":
    main()
