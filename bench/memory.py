"""Resident memory of the server (VmRSS): idle; with 1,000 idle SSH
sessions (real `ssh -N` clients, signed in); and over the minute after
1,000 sign-ins. Goals: idle < 30 MB, 1,000 sessions < +100 MB, back under
2x idle within a minute of the sign-ins.

    bash bench/memory        (BENCH_SMOKE=1: 20 sessions, 20 sign-ins, 20 s)
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import (PASSWORD, SMOKE, Account, Api, Server, cleanup, machine, rss_mb, ssh_command, ssh_key,
                           workdir)

SESSIONS = 20 if SMOKE else 1000
SIGN_INS = 20 if SMOKE else 1000
WATCH = 20 if SMOKE else 60


def main():
    work = workdir()
    server, clients = None, []
    try:
        server = Server(work, args=["--ssh-max-per-ip", str(SESSIONS + 10),
                                    "--ssh-max-connections", str(SESSIONS + 10)])
        time.sleep(2)
        idle = rss_mb(server.pid)
        a = Account(server, "bench")
        key = ssh_key(work)
        a.add_ssh_key(open(key + ".pub").read())
        # Signing up and in hashed passwords; the hash buffers go back once
        # hashing has been quiet for 15 s, checked every 15 s.
        time.sleep(5 if SMOKE else 35)
        before = rss_mb(server.pid)
        ssh = ssh_command(key).split() + ["-N", "-o", "ServerAliveInterval=0", "-p", str(server.ssh_port), "git@127.0.0.1"]
        for i in range(SESSIONS):
            clients.append(subprocess.Popen(ssh, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            if i % 50 == 49:
                time.sleep(0.5)
        deadline = time.time() + 120
        while time.time() < deadline and open(server.log.name).read().count("ssh key accepted") < SESSIONS:
            time.sleep(0.5)
        accepted = open(server.log.name).read().count("ssh key accepted")
        time.sleep(2)
        with_sessions = rss_mb(server.pid)
        for c in clients:
            c.terminate()
        for c in clients:
            c.wait()
        clients = []

        def sign_in(_):
            Api(server).ok("POST", "/session", {"login": "bench", "password": PASSWORD})
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(sign_in, range(SIGN_INS)))
        took = time.perf_counter() - t
        after = [(0, rss_mb(server.pid))]
        start = time.time()
        while time.time() - start < WATCH:
            time.sleep(5)
            after.append((round(time.time() - start), rss_mb(server.pid)))

        print(f"\n{machine()}")
        print(f"idle after start:                        {idle:7.1f} MB   [< 30]")
        print(f"one account, hash buffers let go:        {before:7.1f} MB")
        print(f"{accepted} idle SSH sessions signed in:      {with_sessions:7.1f} MB   (+{with_sessions - before:.1f} MB, "
              f"{(with_sessions - before) * 1024 / max(accepted, 1):.0f} KB each)   [< +100 MB for 1,000]")
        print(f"{SIGN_INS} sign-ins in {took:.1f} s; RSS after them, by second:")
        print("   " + "  ".join(f"{s}s: {m:.1f} MB" for s, m in after))
        last = after[-1][1]
        print(f"ratio RSS {after[-1][0]} s after the sign-ins / idle: {last / idle:.2f}x   [< 2]")
        print(f"ratio peak after the sign-ins / idle:       {max(m for _, m in after) / idle:.2f}x")
    finally:
        for c in clients:
            c.kill()
        if server:
            server.stop()
        cleanup(work)


if __name__ == "__main__":
    main()
