"""Latency at 1 k, 100 k and 1 M accounts, on SQLite and PostgreSQL.

Each size gets a fresh database: the server creates the schema, then the
filler accounts are written straight into the database in bulk (two-step on,
2 authenticators, 6 recovery codes and one repository each), then probe
accounts are made through the API like real users. Measured through the
API: the second step of a sign-in (password step untimed) and repository
authorisation (GET /api/v1/repositories/OWNER/NAME), p50 and p99. Every
statement the server ran while measuring is then explained
(EXPLAIN QUERY PLAN / EXPLAIN on a generic plan): a full scan of a table is
reported. Goal: p99 at 1 M <= 1.5x p99 at 1 k.

    bash bench/scale [SIZES…]   e.g. bash bench/scale 1000 100000
    (BENCH_SMOKE=1: 1,000 accounts only; TWOSTEP_SCALE_POSTGRES=URL of an
     admin database, default postgres://postgres@127.0.0.1:5432/test)
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twostep_bench import PASSWORD, SMOKE, Account, Api, Server, cleanup, machine, pct, workdir

SIZES = [1000] if SMOKE else [int(s) for s in sys.argv[1:]] or [1000, 100_000, 1_000_000]
PROBES = 4 if SMOKE else 150
REPO_SAMPLES = 20 if SMOKE else 1000
ADMIN_PG = os.environ.get("TWOSTEP_SCALE_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
# A well-formed Argon2id hash that no password matches, for every filler account.
FILLER_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2NhbGVzY2FsZXNjYWxl$Pp2mrrLq7+W4SXQlsQx9cqKyWUqQX9s1n7yDLmZz3Ho"


def seed_sql(backend, n):
    """INSERT … SELECT over a series 1..n: users, 2 authenticators, 6 codes, a repository each."""
    if backend == "sqlite":
        series = lambda k: f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {k}) "
        blob = "randomblob(40)"
        src = "FROM s"
    else:
        series = lambda k: ""
        blob = "decode(md5(i::text) || md5((i + 1)::text), 'hex')"
        src = f"FROM generate_series(1, {n}) AS s(i)"
    now = int(time.time())
    out = []
    out.append(series(n) + f"INSERT INTO users (id, username, email, email_lower, password_hash, email_confirmed_at, "
               f"two_step_enabled_at, is_admin, created_at) SELECT 'seed-' || i, 'seed' || i, 'seed' || i || '@example.net', "
               f"'seed' || i || '@example.net', '{FILLER_HASH}', {now}, {now}, 0, {now} {src}")
    for k in (1, 2):
        out.append(series(n) + f"INSERT INTO authenticators (id, user_id, name, secret_enc, status, created_at, activated_at, "
                   f"purpose) SELECT 'seed-' || i || '-a{k}', 'seed-' || i, 'Phone {k}', {blob}, 'active', {now}, {now}, "
                   f"'{'enable' if k == 1 else 'add'}' {src}")
    for k in range(1, 7):
        out.append(series(n) + f"INSERT INTO recovery_codes (id, user_id, code_hash, created_at) SELECT 'seed-' || i || "
                   f"'-c{k}', 'seed-' || i, md5('c{k}-' || i), {now} {src}"
                   if backend != "sqlite" else
                   series(n) + f"INSERT INTO recovery_codes (id, user_id, code_hash, created_at) SELECT 'seed-' || i || "
                   f"'-c{k}', 'seed-' || i, hex(randomblob(32)), {now} {src}")
    out.append(series(n) + f"INSERT INTO repositories (id, owner_id, name, description, is_private, created_at) "
               f"SELECT 'seed-' || i || '-r', 'seed-' || i, 'project', '', 1, {now} {src}")
    return out


def psql(url, sql, quiet=True):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout


def pg_url(db):
    u = urllib.parse.urlparse(ADMIN_PG)
    return u._replace(path="/" + db).geturl()


def seed(backend, url, n):
    t = time.time()
    if backend == "sqlite":
        path = url.split("sqlite://", 1)[1].split("?")[0]
        c = sqlite3.connect(path, timeout=60)
        for stmt in seed_sql("sqlite", n):
            c.execute(stmt)
        c.commit()
        c.execute("ANALYZE")
        c.close()
    else:
        for stmt in seed_sql("postgres", n):
            psql(url, stmt)
        psql(url, "ANALYZE")
    return time.time() - t


def statements(log_path, since_line):
    """The SQL the server ran (the store's debug lines, JSON logs) after a point."""
    found = set()
    with open(log_path) as f:
        for i, line in enumerate(f):
            if i < since_line or '"twostep_store::sql"' not in line:
                continue
            try:
                sql = json.loads(line)["fields"]["statement"]
            except (ValueError, KeyError):
                continue
            sql = " ".join(sql.split())
            if sql and not sql.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET", "SELECT PG_ADVISORY")):
                found.add(sql)
    return sorted(found)


def full_scans(backend, url, sqls):
    """Statements whose plan reads a whole table (tables of one row excepted)."""
    bad = []
    if backend == "sqlite":
        c = sqlite3.connect(url.split("sqlite://", 1)[1].split("?")[0])
        for sql in sqls:
            names = {m: None for m in re.findall(r"\$(\d+)", sql)}
            try:
                plan = c.execute("EXPLAIN QUERY PLAN " + sql, names).fetchall()
            except sqlite3.Error as e:
                bad.append((sql, f"cannot explain: {e}"))
                continue
            scans = [r[3] for r in plan if r[3].startswith("SCAN ") and "USING" not in r[3] and "CONSTANT" not in r[3]]
            if scans:
                bad.append((sql, "; ".join(scans)))
        c.close()
    else:
        for i, sql in enumerate(sqls):
            n = max([int(m) for m in re.findall(r"\$(\d+)", sql)] or [0])
            args = "(" + ", ".join(["NULL"] * n) + ")" if n else ""
            # With sequential scans priced out, a Seq Scan left in the plan
            # means no index can serve the statement, whatever the table size.
            script = (f"SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; PREPARE q{i} AS {sql}; "
                      f"EXPLAIN EXECUTE q{i}{args}; DEALLOCATE q{i};")
            try:
                plan = psql(url, script)
            except subprocess.CalledProcessError as e:
                bad.append((sql, "cannot explain: " + e.stderr.strip().splitlines()[0]))
                continue
            scans = re.findall(r"Seq Scan on (\w+)", plan)
            if scans:
                bad.append((sql, "Seq Scan on " + ", ".join(scans)))
    return bad


def measure(backend, n, work):
    if backend == "sqlite":
        url = f"sqlite://{work}/scale-{n}.db?mode=rwc"
    else:
        db = f"twostep_scale_{n}"
        psql(ADMIN_PG, f"DROP DATABASE IF EXISTS {db}")
        psql(ADMIN_PG, f"CREATE DATABASE {db}")
        url = pg_url(db)
    server = Server(work, name=f"{backend}-{n}", database_url=url, args=["--log-format", "json"],
                    env={"TWOSTEP_LOG": "info,twostep_store::sql=debug"})
    try:
        took = seed(backend, url, n)
        probes = []
        for i in range(PROBES):
            a = Account(server, f"probe{i}")
            a.enable_two_step()
            a.api.ok("POST", "/repositories", {"name": "work"})
            probes.append(a)
        mark = sum(1 for _ in open(server.log.name))
        second = []
        for a in probes:
            api = Api(server)
            api.ok("POST", "/session", {"login": a.name, "password": PASSWORD})
            code = a.code(ahead=True)
            t = time.perf_counter()
            api.ok("POST", "/session/second-step", {"code": code})
            second.append((time.perf_counter() - t) * 1000)
        repo = []
        for i in range(REPO_SAMPLES):
            a = probes[i % len(probes)]
            t = time.perf_counter()
            a.api.ok("GET", f"/repositories/{a.name}/work")
            repo.append((time.perf_counter() - t) * 1000)
        server.log.flush()
        sqls = statements(server.log.name, mark)
        if not sqls:
            raise RuntimeError("the server logged no statements to explain; see " + server.log.name)
        bad = full_scans(backend, url, sqls)
        return {"seed_s": took, "second": second, "repo": repo, "bad": bad, "explained": len(sqls)}
    finally:
        server.stop()
        if backend == "postgres":
            psql(ADMIN_PG, f"DROP DATABASE IF EXISTS twostep_scale_{n}")


def main():
    work = workdir()
    try:
        results = {}
        for backend in ("sqlite", "postgres"):
            for n in SIZES:
                print(f"{backend}: {n:,} accounts...", flush=True)
                results[(backend, n)] = r = measure(backend, n, work)
                print(f"  seeded in {r['seed_s']:.0f} s; second step p50 {pct(r['second'], 50):.2f} ms "
                      f"p99 {pct(r['second'], 99):.2f} ms; repository p50 {pct(r['repo'], 50):.2f} ms "
                      f"p99 {pct(r['repo'], 99):.2f} ms", flush=True)
        print(f"\n{machine()}; {PROBES} second steps and {REPO_SAMPLES} repository look-ups a size, through the API\n")
        print(f"{'backend':<10} {'accounts':>10} {'2nd step p50':>13} {'p99':>8} {'repo p50':>9} {'p99':>8}  (ms)")
        for (backend, n), r in results.items():
            print(f"{backend:<10} {n:>10,} {pct(r['second'], 50):13.2f} {pct(r['second'], 99):8.2f} "
                  f"{pct(r['repo'], 50):9.2f} {pct(r['repo'], 99):8.2f}")
        explained = ", ".join(f"{b} {n:,}: {r['explained']}" for (b, n), r in results.items())
        print(f"\nstatements with a full table scan (while measuring; distinct statements explained: {explained}):")
        any_bad = False
        for (backend, n), r in results.items():
            for sql, why in r["bad"]:
                any_bad = True
                print(f"  {backend} {n:,}: {why}\n      {sql[:160]}")
        if not any_bad:
            print("  none: every statement on these paths uses an index")
        print("\nratios p99 at the largest size / p99 at the smallest (goal: <= 1.5x)")
        lo, hi = min(SIZES), max(SIZES)
        for backend in ("sqlite", "postgres"):
            a, b = results[(backend, lo)], results[(backend, hi)]
            print(f"  {backend:<9} second step {pct(b['second'], 99) / pct(a['second'], 99):5.2f}x   "
                  f"repository {pct(b['repo'], 99) / pct(a['repo'], 99):5.2f}x   ({hi:,} vs {lo:,})")
    finally:
        cleanup(work)


if __name__ == "__main__":
    main()
