#!/usr/bin/env bash
# Back up the database and the upload folder together (docs/operations.md "Backup and restore").
# Usage: scripts/ops/backup.sh BACKUP_DIR      needs DATABASE_URL and UPLOAD_DIR in the environment.
# The database dump is one consistent snapshot (pg_dump runs in one transaction). Files are written
# before the row that names them is committed, so the upload folder is archived AFTER the dump: every
# file a dumped row names is then in the archive (files newer than the dump are harmless extras).
set -euo pipefail
target=${1:?usage: backup.sh BACKUP_DIR}
: "${DATABASE_URL:?set DATABASE_URL}" "${UPLOAD_DIR:?set UPLOAD_DIR}"
# Debian keeps the client tools of each PostgreSQL version under /usr/lib/postgresql/<version>/bin.
command -v pg_dump >/dev/null || PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
mkdir -p "$target"
pg_url=${DATABASE_URL/postgresql+psycopg:/postgresql:}   # libpq does not know SQLAlchemy's driver suffix
pg_dump --format=custom --no-owner --no-privileges --file="$target/database.dump" "$pg_url"
tar -C "$UPLOAD_DIR" -czf "$target/uploads.tar.gz" .
( cd "$target" && sha256sum database.dump uploads.tar.gz > SHA256SUMS )
echo "backup written to $target"
