"""``tracker report …``: supervisors' reports and exports from the command line (thin)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.analytics import register
from app.analytics.export import FORMATS
from app.analytics.selection import select_dossiers
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
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
