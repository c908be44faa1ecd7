"""Languages of the pages: Vietnamese first, English second (Flask-Babel).

Source strings are English (``_("Log in")``); ``app/translations/vi/LC_MESSAGES/messages.po``
holds their Vietnamese, and English needs no catalog. Only the ``.po`` is kept in git: the
server compiles it to ``messages.mo`` when it starts, if the ``.mo`` is missing or older (in
the package when it is writable, else in the instance folder), so a fresh clone, an editable
install and a wheel all serve translated pages without a build step. After changing strings:

    pybabel extract -F babel.cfg -o app/translations/messages.pot .
    pybabel update -i app/translations/messages.pot -d app/translations

The choice is kept in the session (``lang``), so it lasts while the browser is open; a
visitor who never chose gets Vietnamese.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, session
from flask_babel import Babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
CATALOGS = Path(__file__).parent / "translations"

babel = Babel()


def current_language() -> str:
    """The visitor's chosen language, Vietnamese unless they chose another."""
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def compile_catalogs(source: Path, target: Path) -> None:
    """Compile every ``.po`` under ``source`` to a ``.mo`` at the same place under ``target``
    when the ``.mo`` is missing or older; each file is replaced atomically, so several
    workers starting at once never read half a catalog."""
    for po in source.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages.")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)
        except BaseException:
            os.unlink(tmp)
            raise


def init_i18n(app: Flask) -> None:
    """Compile the catalogs if needed and bind Flask-Babel with the session's language."""
    directory = CATALOGS
    try:
        compile_catalogs(CATALOGS, CATALOGS)
    except OSError:  # a read-only install: keep the compiled catalogs in the instance folder
        directory = Path(app.instance_path) / "translations"
        compile_catalogs(CATALOGS, directory)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(directory))
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=current_language,
                   default_timezone=app.config["DEFAULT_TIMEZONE"])
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
