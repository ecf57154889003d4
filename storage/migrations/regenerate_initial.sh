#!/usr/bin/env bash
# While the project is unreleased, the initial migration is regenerated from the models.
# After the first release, add new revisions instead (alembic revision --autogenerate).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -f storage/migrations/versions/0001_initial_schema.py /tmp/xz-gen.db
.venv/bin/python - <<'PY'
from alembic import command
from storage.migrate import alembic_config
command.revision(alembic_config("sqlite:////tmp/xz-gen.db"), message="initial schema", autogenerate=True, rev_id="0001")
PY
