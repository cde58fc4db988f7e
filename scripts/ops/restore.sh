#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database and an empty upload folder
# (docs/operations.md "Backup and restore"). Usage: scripts/ops/restore.sh BACKUP_DIR
# needs DATABASE_URL (the new, empty database) and UPLOAD_DIR (the new folder) in the environment.
set -euo pipefail
source_dir=${1:?usage: restore.sh BACKUP_DIR}
: "${DATABASE_URL:?set DATABASE_URL}" "${UPLOAD_DIR:?set UPLOAD_DIR}"
# Debian keeps the client tools of each PostgreSQL version under /usr/lib/postgresql/<version>/bin.
command -v pg_dump >/dev/null || PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
( cd "$source_dir" && sha256sum --check --quiet SHA256SUMS )
pg_url=${DATABASE_URL/postgresql+psycopg:/postgresql:}
pg_restore --exit-on-error --no-owner --no-privileges --single-transaction --dbname="$pg_url" "$source_dir/database.dump"
mkdir -p "$UPLOAD_DIR"
tar -C "$UPLOAD_DIR" -xzf "$source_dir/uploads.tar.gz"
echo "restored from $source_dir; now run: flask db upgrade && flask audit-verify"
