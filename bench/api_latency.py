"""Latency of authenticated API requests against unauthenticated ones, one
connection kept alive (wrk), interleaved: `GET /` (no credentials), `GET
/api/v1/user` with an app password (HTTP Basic) and with a session cookie.
Goal: authenticated <= 1.5x unauthenticated at p50 and p99.

    bash bench/api-latency [ROUNDS]   (BENCH_SMOKE=1: short rounds)
"""

import base64
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import SMOKE, Account, Server, cleanup, machine, median, workdir

ROUNDS = 1 if SMOKE else int(sys.argv[1]) if len(sys.argv) > 1 else 5
SECONDS = 1 if SMOKE else 5


def unit(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]


def wrk(url, headers):
    cmd = ["wrk", "-t1", "-c1", f"-d{SECONDS}s", "--latency", url]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError("refused requests in the run:\n" + out)
    p = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return unit(p["50"]), unit(p["99"]), rate


def main():
    work = workdir()
    server = None
    try:
        server = Server(work)
        a = Account(server, "bench")
        a.enable_two_step()
        app_pw = a.app_password(("account:read",))
        basic = "Authorization: Basic " + base64.b64encode(f"bench:{app_pw}".encode()).decode()
        cookie = "Cookie: " + "; ".join(f"{c.name}={c.value}" for c in a.api.jar)
        runs = {
            "GET / (no credentials)": (server.base + "/", []),
            "GET /api/v1/user, app password": (server.base + "/api/v1/user", [basic]),
            "GET /api/v1/user, session cookie": (server.base + "/api/v1/user", [cookie]),
        }
        got = {k: [] for k in runs}
        for _ in range(ROUNDS):
            for k, (url, headers) in runs.items():
                got[k].append(wrk(url, headers))
        print(f"\n{machine()}; wrk, 1 connection, {SECONDS} s a run, median of {ROUNDS} interleaved runs\n")
        print(f"{'request':<36} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}")
        med = {}
        for k, rs in got.items():
            med[k] = tuple(median([r[i] for r in rs]) for i in range(3))
            print(f"{k:<36} {med[k][0]:8.3f} {med[k][1]:8.3f} {med[k][2]:9.0f}")
        base = med["GET / (no credentials)"]
        print("\nratios against GET / (goal: <= 1.5x)")
        for k in list(runs)[1:]:
            print(f"  {k:<34} p50 {med[k][0] / base[0]:5.2f}x   p99 {med[k][1] / base[1]:5.2f}x")
    finally:
        if server:
            server.stop()
        cleanup(work)


if __name__ == "__main__":
    main()
