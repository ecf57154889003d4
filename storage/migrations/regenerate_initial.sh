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
# Keep the note that explains the file's length (the size check reads module docstrings).
.venv/bin/python - <<'PY'
from pathlib import Path
p = Path("storage/migrations/versions/0001_initial_schema.py")
note = ("(Long because it creates every table of the first release; migrations are never edited\n"
        "after they ship, so it is not split.)\n\n")
s = p.read_text()
if "Long because" not in s:
    p.write_text(s.replace('"""initial schema\n\n', '"""initial schema\n\n' + note, 1))
PY
