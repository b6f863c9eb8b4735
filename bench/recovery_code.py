"""A recovery code costs one Argon2id hash to check, not one per code of the
set: the code's first two characters pick its row, whose salted hash is
verified once. Measured from outside, one client at a time: the second step
with a recovery code, minus the second step with an authenticator code (the
same request, statements and commit, without a hash), in units of one raw
Argon2id verification on one thread (`twostep hash-rate --threads 1`, run
before and after). Goal: about 1.0 (a scan of six hashed codes would be 6).

    bash bench/recovery-code [ROUNDS]
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import BIN, PASSWORD, SMOKE, Account, Api, Server, cleanup, machine, median, run, workdir

ROUNDS = 1 if SMOKE else int(sys.argv[1]) if len(sys.argv) > 1 else 5


def one_hash_ms():
    out = run([BIN, "hash-rate", "--seconds", "1", "--threads", "1"]).stdout
    return 1000 / json.loads(out)["per_second"]


def second_step_ms(server, account, code):
    api = Api(server)
    api.ok("POST", "/session", {"login": account.name, "password": PASSWORD})
    start = time.perf_counter()
    api.ok("POST", "/session/second-step", {"code": code})
    return (time.perf_counter() - start) * 1000


def main():
    work = workdir()
    server = None
    try:
        server = Server(work)
        ratios, extra, hashes = [], [], []
        for r in range(ROUNDS):
            account = Account(server, f"rc{r}")
            codes = account.enable_two_step()
            before = one_hash_ms()
            totp = [second_step_ms(server, account, account.code(ahead=True)) for _ in range(2)]
            recovery = [second_step_ms(server, account, c) for c in codes]
            after = one_hash_ms()
            h = (before + after) / 2
            d = median(recovery) - median(totp)
            ratios.append(d / h)
            extra.append(d)
            hashes.append(h)
            print(f"  round {r + 1}: authenticator code {median(totp):.1f} ms, recovery code {median(recovery):.1f} ms, "
                  f"one raw hash {h:.1f} ms: {d / h:.2f} hashes", flush=True)
        print(f"\n{machine()}; {ROUNDS} rounds, 6 recovery codes and 2 authenticator codes each")
        print(f"recovery code - authenticator code: {median(extra):.1f} ms; one raw Argon2id verification: {median(hashes):.1f} ms")
        print(f"ratio (recovery-code check / one Argon2id hash): {median(ratios):.2f}x  [about 1; 6 would be a scan of the set]")
    finally:
        if server:
            server.stop()
        cleanup(work)


if __name__ == "__main__":
    main()
