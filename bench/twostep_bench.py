"""What the benchmarks share: the twostep binary on free ports, its API with a
cookie jar, accounts with two-step on (pyotp as the phone), /proc readings,
percentiles. Run by the scripts in bench/, never imported by the product.

TWOSTEP_BIN names the binary to measure (the scripts build the release one);
the smoke test points it at the debug build."""

import base64
import glob
import http.cookiejar
import json
import os
import quopri
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pyotp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TWOSTEP_BIN") or os.path.join(ROOT, "target", "release", "twostep")
PASSWORD = "quiet-meadow-4711"
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def median(values):
    return statistics.median(values)


def cpu_seconds(pid):
    """User + system time of a process and of the children it has waited for."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {time.strftime('%Y-%m-%d')}"


class Server:
    """`twostep serve` on free ports in a fresh data folder."""

    def __init__(self, work, name="twostep", database_url=None, args=(), env=None):
        self.data = os.path.join(work, name)
        self.http = free_port()
        self.ssh_port = free_port()
        self.base = f"http://127.0.0.1:{self.http}"
        cmd = [BIN, "serve", "--data-dir", self.data, "--http-addr", f"127.0.0.1:{self.http}",
               "--ssh-addr", f"127.0.0.1:{self.ssh_port}", "--public-url", self.base, *args]
        if database_url:
            cmd += ["--database-url", database_url]
        self.log = open(os.path.join(work, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log,
                                     env=dict(os.environ, **(env or {})))
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                socket.create_connection(("127.0.0.1", self.ssh_port)).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("twostep exited; see " + self.log.name)
                time.sleep(0.1)
        raise RuntimeError("twostep did not start")

    @property
    def pid(self):
        return self.proc.pid

    def repo_dir(self, owner, name):
        return os.path.join(self.data, "repositories", owner, name + ".git")

    def mails(self, to, subject):
        """Mails in the outbox to `to` with `subject`, oldest first; each file
        is read once (names start with the time they were written)."""
        cache = self.__dict__.setdefault("_mail_cache", {})
        for p in sorted(glob.glob(os.path.join(self.data, "outbox", "*.eml"))):
            if p not in cache:
                try:
                    cache[p] = open(p, encoding="utf-8", errors="replace").read()
                except FileNotFoundError:
                    continue
        return [raw for p, raw in sorted(cache.items()) if f"To: {to}" in raw and subject in raw]

    def link(self, to, subject, path):
        for _ in range(200):
            found = self.mails(to, subject)
            if found:
                raw = found[-1]
                if "Content-Transfer-Encoding: quoted-printable" in raw:
                    raw = quopri.decodestring(raw.encode()).decode("utf-8", "replace")
                m = re.search(r"https?://\S*" + re.escape(path) + r"\S*", raw)
                if m:
                    return m.group(0)
            time.sleep(0.05)
        raise RuntimeError(f"no mail '{subject}' to {to}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Api:
    """The JSON API with its own cookie jar, or with HTTP Basic credentials."""

    def __init__(self, server, basic=None):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.basic = basic

    def call(self, method, path, body=None):
        headers = {"content-type": "application/json"}
        if self.basic:
            headers["authorization"] = "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
        req = urllib.request.Request(self.server.base + "/api/v1" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(), headers=headers)
        try:
            with self.opener.open(req) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def ok(self, method, path, body=None):
        status, value = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {value}")
        return value


class Account:
    """Signed up, email confirmed, signed in; `enable_two_step` turns two-step on."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        self.email = f"{name}@example.net"
        self.api = Api(server)
        self.api.ok("POST", "/users", {"username": name, "email": self.email, "password": PASSWORD})
        token = server.link(self.email, "Confirm your email", "/confirm-email").split("token=")[1]
        self.api.ok("POST", "/users/confirm-email", {"token": token, "password": PASSWORD})
        self.api.ok("POST", "/session", {"login": name, "password": PASSWORD})
        self.totp = None
        self.last_step = 0
        self.key = None

    def enable_two_step(self):
        """Adds an SSH key first if there is none (the checklist asks for one)."""
        if not self.key:
            self.add_ssh_key(open(ssh_key(os.path.dirname(self.server.data), self.name) + ".pub").read())
        setup = self.api.ok("POST", "/user/two-step/setup")
        self.totp = pyotp.parse_uri(setup["otpauth_uri"])
        self.api.ok("POST", "/user/two-step/setup/verify", {"code": self.code()})
        token = self.server.link(self.email, "Confirm turning on", "/account/two-step/confirm").split("token=")[1]
        return self.api.ok("POST", "/user/two-step/confirm", {"token": token})["recovery_codes"]

    def code(self, ahead=False):
        """A code for a step not used yet: waits for the next step, or with
        `ahead` takes it now (a phone one step fast, which twostep accepts)."""
        while True:
            step = int(time.time()) // 30
            if step <= self.last_step and ahead and self.last_step + 1 - step <= 1:
                step = self.last_step + 1
            if step > self.last_step:
                self.last_step = step
                return self.totp.at(step * 30)
            time.sleep(0.2)

    def add_ssh_key(self, public_key):
        self.key = public_key
        self.api.ok("POST", "/user/ssh-keys", {"key": public_key, "password": PASSWORD})

    def app_password(self, scopes=("repository:read", "repository:write", "account:read")):
        body = {"label": "bench", "scopes": list(scopes), "password": PASSWORD}
        if self.totp:
            body["code"] = self.code()
        return self.api.ok("POST", "/user/app-passwords", body)["password"]


def ssh_key(work, name="id"):
    key = os.path.join(work, name)
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
    return key


def ssh_command(key):
    return (f"ssh -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o LogLevel=ERROR -o BatchMode=yes")


def workdir():
    return tempfile.mkdtemp(prefix="twostep-bench-")


def cleanup(work):
    shutil.rmtree(work, ignore_errors=True)


def git_env(ssh):
    """git with a given ssh command and nothing from the user's own config."""
    return dict(os.environ, GIT_SSH_COMMAND=ssh, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
                GIT_CONFIG_GLOBAL="/dev/null")
