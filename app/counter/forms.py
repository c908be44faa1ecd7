"""The counter's forms: what the desk types, checked as the API checks it and more strictly.

The page's body is the API's (:class:`app.tracking.schemas.IntakeIn`, ``CorrectionIn``), so
every bound the API enforces holds here too; the counter adds what a person at a desk can
always give right: a Vietnamese phone number, an identity number of 9 (CMND) or 12 (CCCD)
digits, and an email address that looks like one. (The API accepts what an upstream one-door
system sends as it is.) Errors come back per form field, in the visitor's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

import pydantic
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from werkzeug.datastructures import MultiDict

from app.tracking import schemas

_SEPARATORS = re.compile(r"[\s.\-()]")
# Mobile: 0 and 9 digits beginning 3, 5, 7, 8 or 9; fixed line: 02 and 9 digits.
_PHONE = re.compile(r"0(?:[35789]\d{8}|2\d{9})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")


def check_phone(value: str | None) -> str | None:
    """A Vietnamese mobile or fixed-line number, as ``0…`` digits (``+84`` and spaces,
    dots, dashes or brackets between groups forgiven); ``""`` or ``None`` for none."""
    if not value:
        return value
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE.fullmatch(digits):
        raise PydanticCustomError("bad_phone", "not a Vietnamese phone number")
    return digits


def check_id_number(value: str | None) -> str | None:
    """A CMND (9 digits) or CCCD (12 digits) number, spaces removed."""
    if not value:
        return value
    digits = re.sub(r"\s", "", value)
    if not (digits.isascii() and digits.isdigit() and len(digits) in (9, 12)):
        raise PydanticCustomError("bad_id_number", "not 9 (CMND) or 12 (CCCD) digits")
    return digits


def check_email(value: str | None) -> str | None:
    if value and not _EMAIL.fullmatch(value):
        raise PydanticCustomError("bad_email", "not an email address")
    return value


class CounterApplicant(schemas.ApplicantIn):
    phone: Annotated[schemas.Printed30 | None, AfterValidator(check_phone)] = None
    id_number: Annotated[schemas.Text32 | None, AfterValidator(check_id_number)] = None
    email: Annotated[schemas.Printed200 | None, AfterValidator(check_email)] = None


class CounterIntake(schemas.IntakeIn):
    applicant: CounterApplicant


class CounterApplicantPatch(schemas.ApplicantPatchIn):
    phone: Annotated[schemas.Printed30 | None, AfterValidator(check_phone)] = None
    id_number: Annotated[schemas.Text32 | None, AfterValidator(check_id_number)] = None
    email: Annotated[schemas.Printed200 | None, AfterValidator(check_email)] = None


class CounterCorrection(schemas.CorrectionIn):
    applicant: CounterApplicantPatch | None = None


# --- from the HTML form, and its errors back ------------------------------------------------

APPLICANT_FIELDS = ("name", "phone", "id_number", "address", "email")

MESSAGES: dict[str, LazyString] = {
    "bad_phone": _l("Enter a Vietnamese phone number, e.g. 0912 345 678 or 024 3825 1234."),
    "bad_id_number": _l("An identity number has 9 digits (CMND) or 12 digits (CCCD)."),
    "bad_email": _l("Enter an email address such as ten@example.vn, or leave it empty."),
    "missing": _l("This field is required."),
    "string_too_short": _l("This field is required."),
    "string_too_long": _l("This text is too long."),
    "too_long": _l("Too many rows."),
    "unprintable": _l("This text has a character the receipt cannot print."),
    "unknown_procedure": _l("Choose a procedure from the list."),
}
FALLBACK = _l("Check this field.")


def applicant_of(form: MultiDict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in APPLICANT_FIELDS}


def documents_of(form: MultiDict[str, str]) -> list[str]:
    """The document rows typed, empty rows left out."""
    return [d.strip() for d in form.getlist("documents") if d.strip()]


def intake_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The API's intake body from the counter form."""
    applicant = {k: v for k, v in applicant_of(form).items() if v or k == "name"}
    body: dict[str, Any] = {"procedure": form.get("procedure", "").strip(),
                            "applicant": applicant, "documents": documents_of(form),
                            "return_method": form.get("return_method", "").strip() or None,
                            "note": form.get("note", "").strip() or None}
    copies = form.get("copies", "").strip()
    body["copies"] = int(copies) if copies.isdigit() else copies or 1
    fee = form.get("fee", "").replace(".", "").replace(" ", "").strip()
    if fee:
        body["fee"] = int(fee) if fee.isdigit() else fee
    return body


def correction_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The API's correction body from the correction form: every field as now written."""
    return {"applicant": applicant_of(form), "documents": documents_of(form),
            "reason": form.get("reason", "").strip()}


def field_errors(exc: pydantic.ValidationError) -> dict[str, str]:
    """Each form field's first error, in the visitor's language."""
    errors: dict[str, str] = {}
    for e in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in e["loc"] if not isinstance(part, int)]
        name = loc[-1] if loc else "form"
        if loc[:1] == ["applicant"] and len(loc) == 1:
            name = "name"
        errors.setdefault(name, str(MESSAGES.get(e["type"], FALLBACK)))
    return errors


def first_rows(values: Iterable[str], minimum: int = 3) -> list[str]:
    """The document rows to show: those typed, then empty ones up to ``minimum``."""
    rows = list(values)
    return rows + [""] * max(0, minimum - len(rows))
