"""``tracker report …``: supervisors' reports and exports from the command line (thin)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.analytics import register, reports
from app.analytics.api import ReportParams, build_query
from app.analytics.export import FILE_FORMATS, FORMATS, MEDIA_TYPES, Format, write_table
from app.analytics.selection import select_dossiers
from app.boundary import validate
from app.db import db, utcnow
from app.errors import DomainError


@click.group("report")
def report_group() -> None:
    """Supervisors' reports and exports (every office unless --office)."""


_DAY = click.DateTime(["%Y-%m-%d"])


@report_group.command("register")
@click.option("--from", "since", type=_DAY, required=True, help="First day of receipt.")
@click.option("--to", "until", type=_DAY, required=True, help="Last day of receipt (included).")
@click.option("--office", help="Only this office (agency code).")
@click.option("--procedure", help="Only this procedure (its code).")
@click.option("--format", "fmt", type=click.Choice(FILE_FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@with_appcontext
def register_cmd(since: dt.datetime, until: dt.datetime, office: str | None,
                 procedure: str | None, fmt: str, out: Path) -> None:
    """Write the register (Mẫu 06, Sổ theo dõi hồ sơ) of the dossiers received in the period.

    It names the applicants: keep the file as you keep the paper register.
    """
    try:
        selection = select_dossiers(None, since.date(), until.date(), office=office,
                                    procedure=procedure)
        rows = register.register_rows(selection)
    except DomainError as exc:
        raise click.UsageError(exc.message) from exc
    out.write_bytes(register.render(rows, fmt))
    click.echo(f"{len(rows)} dossiers written to {out}")


def _report_command(name: str, summary: str) -> click.Command:
    """``tracker report NAME``: the API's report, for every office unless ``--office``."""

    @click.option("--from", "since", help="First day, YYYY-MM-DD (default: 30 days ago).")
    @click.option("--to", "until", help="Last day included, YYYY-MM-DD (default: now).")
    @click.option("--office", help="Only this office (agency code).")
    @click.option("--procedure", help="Only this procedure (code).")
    @click.option("--by", type=click.Choice(["step", "station", "procedure", "staff", "office",
                                             "month"]))
    @click.option("--formula", type=click.Choice(["766", "resolved"]), default="766",
                  show_default=True)
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="json",
                  show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file (default: standard output; xlsx needs a file).")
    @with_appcontext
    def command(since: str | None, until: str | None, office: str | None,
                procedure: str | None, by: str | None, formula: str, fmt: Format,
                out: Path | None) -> None:
        try:
            params = validate(ReportParams, {k: v for k, v in {
                "from": since, "to": until, "office": office, "procedure": procedure,
                "by": by, "formula": formula}.items() if v is not None})
            query = build_query(name, params, None, utcnow())
        except DomainError as exc:
            raise click.UsageError(exc.message) from exc
        if out is None and fmt == "xlsx":
            raise click.UsageError("xlsx needs --out FILE")
        table = reports.REPORTS[name](query)
        db.session.commit()  # keeps the months of stay rollup the dwell report built, if any
        data = write_table(table.rows, table.columns, fmt)
        if out is not None:
            out.write_bytes(data)
            click.echo(f"{len(table.rows)} rows written to {out} ({MEDIA_TYPES[fmt]})")
        else:
            click.echo(data.decode("utf-8-sig"))

    return click.command(name, help=f"{summary} (JSON: an object with \"rows\").")(command)


for _name, _summary in {
        "dwell": "Dwell time per step, station, procedure, staff member or office",
        "ontime": "On-time rates under formula 766 or resolved",
        "triage": "Dossiers in progress: within, approaching or past their appointment",
        "missed": "Probable missed scans and scan compliance",
        "status": "Dossiers received in the period, by their status now",
        "queues": "Files at each station: in processing, waiting, the oldest"}.items():
    report_group.add_command(_report_command(_name, _summary))
