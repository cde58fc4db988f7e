"""The bare Flask + PostgreSQL page the benchmark compares against: a 25-row table from one indexed query
(the referral inbox's index) on the same database. Run by gunicorn as scripts.bench.baseline:create_app()."""
from __future__ import annotations

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

QUERY = text("SELECT id, number, status, family_name, ack_due_at FROM referrals WHERE network_id = :n "
             "ORDER BY ack_due_at DESC, id DESC LIMIT 25")
TEMPLATE = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Baseline</title></head><body>
<table><thead><tr><th>#</th><th>Nummer</th><th>Status</th><th>Naam</th><th>Reactie voor</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.number }}</td><td>{{ row.status }}</td>
<td>{{ row.family_name }}</td><td>{{ row.ack_due_at.strftime('%d-%m-%Y') }}</td></tr>{% endfor %}
</tbody></table></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)

    @app.get("/baseline")
    def baseline():
        with engine.connect() as conn:
            rows = conn.execute(QUERY, {"n": 1}).all()
        return render_template_string(TEMPLATE, rows=rows)

    return app
