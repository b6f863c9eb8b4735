#!/usr/bin/env bash
# Installs what the tests need (idempotently) and runs the whole test suite.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v oathtool >/dev/null || need_apt+=(oathtool)
command -v zbarimg >/dev/null || need_apt+=(zbar-tools)
command -v rsvg-convert >/dev/null || need_apt+=(librsvg2-bin)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v tmux >/dev/null || need_apt+=(tmux)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v git-credential-oauth >/dev/null || need_apt+=(git-credential-oauth)
command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
command -v git >/dev/null || need_apt+=(git)
# A real load balancer and ACME server (tests/e2e/behind_haproxy.rs, tls.rs).
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v pebble >/dev/null || need_apt+=(pebble)
# The Debian package test (tests/e2e/package.rs): man pages, the system user.
command -v man >/dev/null || need_apt+=(man-db)
command -v adduser >/dev/null || need_apt+=(adduser)
command -v objdump >/dev/null || need_apt+=(binutils)
# The store checks that SQLite's commits sync with fdatasync (crates/store/tests/fdatasync.rs).
command -v strace >/dev/null || need_apt+=(strace)
# The software security key of the SSH tests is built with libcrypto.
command -v cc >/dev/null || need_apt+=(gcc)
[ -f /usr/include/openssl/evp.h ] || need_apt+=(libssl-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import aiosmtpd, pyotp, authlib, requests, pskc' 2>/dev/null; then
  echo "==> installing Python test tools: aiosmtpd pyotp authlib requests python-pskc"
  python3 -m pip install -q aiosmtpd pyotp authlib requests python-pskc
fi
if ! command -v st >/dev/null; then
  echo "==> installing Schemathesis"
  python3 -m pip install -q schemathesis
fi

# A real OpenID Provider for the sign-in tests (panva's oidc-provider, pinned
# by tests/e2e/oidc/package-lock.json).
if ! command -v npm >/dev/null; then
  echo "==> installing Node.js"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d tests/e2e/oidc/node_modules/oidc-provider ]; then
  echo "==> installing the test OpenID Provider (npm ci)"
  npm ci --prefix tests/e2e/oidc --no-audit --no-fund --silent
fi
# Deque's axe-core for the accessibility sweep (pinned by tests/e2e/axe/package-lock.json).
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ]; then
  echo "==> installing axe-core (npm ci)"
  npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent
fi

# PostgreSQL at 127.0.0.1:5432 (trust auth, database test) for the scale backend's tests.
# On a bare machine: install the distribution's server, let loopback clients in
# without a password (the tests' setting), start the cluster, create `test`.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "==> installing PostgreSQL"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    version="$(ls /etc/postgresql | head -1)"
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -q "twostep tests" "$hba"; then
      printf '%s\n%s\n' "host all all 127.0.0.1/32 trust # twostep tests" \
        "host all all ::1/128 trust # twostep tests" | $SUDO sh -c "cat - '$hba' > '$hba.new' && mv '$hba.new' '$hba'"
      $SUDO chown postgres:postgres "$hba"
    fi
  fi
  echo "==> starting PostgreSQL"
  cluster="$(ls /etc/postgresql | head -1)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  # Installing may have started it already, before the trust lines.
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$cluster" main reload || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE test" || true
  fi
fi

# The PostgreSQL tests, the store's and the end-to-end ones, run only with
# this set (plain `cargo test` skips them, saying so).
export TWOSTEP_TEST_POSTGRES="${TWOSTEP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
export TWOSTEP_SCREENSHOTS="${TWOSTEP_SCREENSHOTS:-$PWD/target/screenshots}"
echo "==> browser tests save screenshots of the main pages in $TWOSTEP_SCREENSHOTS"
if cargo nextest --version >/dev/null 2>&1; then
  echo "==> cargo nextest run"
  cargo nextest run --workspace --no-fail-fast
else
  echo "==> cargo test"
  cargo test --workspace --no-fail-fast
fi
