"""Sign-ins per second (password + authenticator code over the API) against
raw Argon2id verifications per second with the same parameters (`twostep
hash-rate`, one thread per core), interleaved in one run. Sign-ins are timed
with 2 clients and with 2 per core: with as many clients as cores, every
round trip and the database work between two hashes leave a core idle; with
more, requests wait for the hash pool (sized to the cores) and what is
measured is the server's own limit. Goal: >= 0.9x with the pool kept busy.

    bash bench/sign-ins [ROUNDS]     (BENCH_SMOKE=1: a few accounts, 1 round)

Each round: raw, 2 clients, raw, 2 per core, raw; each figure is divided by
the mean of the raw runs on either side of it.
"""

import json
import os
import selectors
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import BIN, PASSWORD, SMOKE, Account, Server, cleanup, machine, median, run, workdir

ROUNDS = 1 if SMOKE else int(sys.argv[1]) if len(sys.argv) > 1 else 15
PER_FIGURE = 4 if SMOKE else 60
RAW_SECONDS = 1
CLIENTS = 2


def make_accounts(server, prefix, n):
    def one(i):
        a = Account(server, f"{prefix}{i}")
        a.enable_two_step()
        return a
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(n)))


class Client:
    """One kept-alive connection speaking just enough HTTP/1.1 by hand
    (requests built before the clock starts, responses read by
    Content-Length); all clients are driven by one thread with a selector:
    the client shares the cores with the server, so it must cost as little
    CPU as it can (threads would fight over Python's lock)."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.http))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.job = None

    def response(self):
        """The cookies of a complete response in the buffer, or None."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        lines = self.buf[:head_end].split(b"\r\n")
        status = int(lines[0].split()[1])
        length, cookies = 0, []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"set-cookie":
                cookies.append(value.strip().split(b";", 1)[0])
        if len(self.buf) < head_end + 4 + length:
            return None
        self.buf = self.buf[head_end + 4 + length:]
        if status >= 300:
            raise RuntimeError(f"sign-in step answered {status}")
        return b"; ".join(cookies)


def post_bytes(path, data, cookie=b""):
    head = (f"POST /api/v1{path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n").encode()
    return head + (b"cookie: " + cookie + b"\r\n" if cookie else b"") + b"\r\n" + data


def sign_ins_per_second(server, accounts, clients):
    # Codes are worked out before the clock starts (pyotp's HMAC is the
    # phone's work, not the server's).
    jobs = iter([(post_bytes("/session", json.dumps({"login": a.name, "password": PASSWORD}).encode()),
                  json.dumps({"code": a.code(ahead=True)}).encode()) for a in accounts])
    conns = [Client(server) for _ in range(clients)]
    sel = selectors.DefaultSelector()

    def start(c):
        c.job = next(jobs, None)
        if c.job is None:
            sel.unregister(c.sock)
            return
        c.stage = 0
        c.sock.sendall(c.job[0])

    done = []
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
        start(c)
    while sel.get_map():
        for key, _ in sel.select():
            c = key.data
            data = c.sock.recv(65536)
            if not data:
                raise RuntimeError("the server closed a connection")
            c.buf += data
            cookie = c.response()
            if cookie is None:
                continue
            if c.stage == 0:
                c.stage = 1
                c.sock.sendall(post_bytes("/session/second-step", c.job[1], cookie))
            else:
                done.append(time.perf_counter())
                start(c)
    for c in conns:
        c.sock.close()
    # The steady rate: completions between the first and last tenth, so the
    # start (every client's first hash at once) and the end (fewer jobs left
    # than hashing threads, a core idle) do not count.
    skip = max(1, len(done) // 10)
    return (len(done) - 2 * skip - 1) / (done[-skip - 1] - done[skip])


def raw_rate(seconds):
    out = run([BIN, "hash-rate", "--seconds", str(seconds)]).stdout
    return json.loads(out)["per_second"]


def main():
    work = workdir()
    server = None
    busy = 2 * (os.cpu_count() or 1)
    try:
        server = Server(work)
        print("making accounts with two-step on...", flush=True)
        batches = [make_accounts(server, f"r{r}u", 2 * PER_FIGURE) for r in range(ROUNDS)]
        # Shared machines change speed from one second to the next (Argon2
        # is memory-bound, and so are the neighbours), so every figure is
        # short and compared with the raw runs just before and just after it.
        raw, two, full = [raw_rate(RAW_SECONDS)], [], []
        q2, qf = [], []
        for accounts in batches:
            two.append(sign_ins_per_second(server, accounts[:PER_FIGURE], CLIENTS))
            raw.append(raw_rate(RAW_SECONDS))
            q2.append(two[-1] / ((raw[-2] + raw[-1]) / 2))
            full.append(sign_ins_per_second(server, accounts[PER_FIGURE:], busy))
            raw.append(raw_rate(RAW_SECONDS))
            qf.append(full[-1] / ((raw[-2] + raw[-1]) / 2))
            print(f"  round: raw {raw[-3]:.1f}/s, {CLIENTS} clients {two[-1]:.1f}/s ({q2[-1]:.2f}x), raw {raw[-2]:.1f}/s, "
                  f"{busy} clients {full[-1]:.1f}/s ({qf[-1]:.2f}x), raw {raw[-1]:.1f}/s", flush=True)

        def spread(q):
            q = sorted(q)
            return f"(quartiles {q[len(q) // 4]:.2f}-{q[(3 * len(q)) // 4]:.2f})"
        print(f"\n{machine()}; {PER_FIGURE} sign-ins per figure, {ROUNDS} rounds, raw runs of {RAW_SECONDS} s between")
        print(f"raw Argon2id verifications (m=19456 KiB, t=2, p=1), {os.cpu_count()} threads: {median(raw):7.1f}/s")
        print(f"sign-ins (password + code, HTTP API), {CLIENTS} clients:  {median(two):7.1f}/s")
        print(f"sign-ins (password + code, HTTP API), {busy} clients:  {median(full):7.1f}/s")
        print("ratios (median over rounds of each figure against the raw runs just before and after it):")
        print(f"ratio sign-ins / raw Argon2id, {CLIENTS} clients: {median(q2):.2f}x {spread(q2)}")
        print(f"ratio sign-ins / raw Argon2id, {busy} clients (hash pool kept busy): {median(qf):.2f}x {spread(qf)}  [>= 0.9]")
    finally:
        if server:
            server.stop()
        cleanup(work)

if __name__ == "__main__":
    main()
