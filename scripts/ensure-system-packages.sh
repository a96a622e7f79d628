#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing (apt-get, as root).
set -euo pipefail

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v zstd >/dev/null || need+=(zstd)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v pg_dump >/dev/null || need+=(postgresql-client)
command -v mariadb-dump >/dev/null && command -v mariadb >/dev/null || need+=(mariadb-client)
command -v age >/dev/null && command -v age-keygen >/dev/null || need+=(age)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]}; install them (sudo apt-get install ${need[*]}) or run as root" >&2
    exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
