"""Sign-ins per second (password + authenticator code, 2 clients) against raw
Argon2id verifications per second with the same parameters (`twostep
hash-rate`, one thread per core), interleaved in one run. Goal: >= 0.9x.

    bash bench/sign-ins [ROUNDS]     (BENCH_SMOKE=1: a few accounts, 1 round)
"""

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import BIN, PASSWORD, SMOKE, Account, Api, Server, cleanup, machine, median, run, workdir

ROUNDS = 1 if SMOKE else int(sys.argv[1]) if len(sys.argv) > 1 else 3
PER_ROUND = 6 if SMOKE else 300
CLIENTS = 2


def make_accounts(server, prefix, n):
    def one(i):
        a = Account(server, f"{prefix}{i}")
        a.enable_two_step()
        return a
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(n)))


def sign_in(a):
    api = Api(a.server)
    api.ok("POST", "/session", {"login": a.name, "password": PASSWORD})
    api.ok("POST", "/session/second-step", {"code": a.code(ahead=True)})


def sign_ins_per_second(accounts):
    t = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(sign_in, accounts))
    return len(accounts) / (time.perf_counter() - t)


def raw_rate(seconds):
    out = run([BIN, "hash-rate", "--seconds", str(seconds)]).stdout
    return json.loads(out)["per_second"]


def main():
    work = workdir()
    server = None
    try:
        server = Server(work)
        print("making accounts with two-step on...", flush=True)
        batches = [make_accounts(server, f"r{r}u", PER_ROUND) for r in range(ROUNDS)]
        raw, signins = [], []
        for accounts in batches:
            raw.append(raw_rate(1 if SMOKE else 4))
            signins.append(sign_ins_per_second(accounts))
            print(f"  round: raw Argon2id {raw[-1]:.1f}/s, sign-ins {signins[-1]:.1f}/s", flush=True)
        r, s = median(raw), median(signins)
        print(f"\n{machine()}; {CLIENTS} clients, {PER_ROUND} sign-ins a round, median of {ROUNDS} rounds")
        print(f"raw Argon2id verifications (m=19456 KiB, t=2, p=1): {r:7.1f}/s")
        print(f"sign-ins (password + code, HTTP API):           {s:7.1f}/s")
        print(f"ratio sign-ins / raw Argon2id: {s / r:.2f}x  [>= 0.9]")
    finally:
        if server:
            server.stop()
        cleanup(work)


if __name__ == "__main__":
    main()
