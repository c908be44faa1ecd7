"""A bare Flask endpoint doing one INSERT per request: the floor a scan request stands on.

``bench_ingest.py --bare`` runs it under the same gunicorn shape as the tracker and posts one
row per request into the benchmark's scratch table (shaped like ``scan_event``), so the
tracker's server CPU per event can be read against the cost of Flask + SQLAlchemy + one
committed INSERT on the same machine, in the same run.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

app = Flask(__name__)
engine = sa.create_engine(os.environ["DATABASE_URL"], pool_size=8)
INSERT = sa.text(
    "INSERT INTO bench_raw_scan (uuid, dossier_id, station_id, action, actor_raw, device_id, "
    "code_scanned, note, scanned_at, sent_at, received_at, corrected_at) VALUES (:uuid, "
    ":dossier_id, :station_id, 'TRANSFER_IN', '', :device_id, :code, '', :now, :now, :now, "
    ":now)")


@app.post("/insert")
def insert() -> ResponseReturnValue:
    body = request.get_json()
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(INSERT, {"uuid": uuid.UUID(body["uuid"]), "dossier_id": body["dossier_id"],
                              "station_id": body["station_id"], "device_id": body["device_id"],
                              "code": body["code"], "now": now})
    return jsonify({"status": "accepted"})


@app.get("/health")
def health() -> ResponseReturnValue:
    return jsonify({"status": "ok"})
