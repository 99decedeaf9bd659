"""CSV downloads, streamed: rows are written as the query yields them, so an export of any
size holds one chunk in memory, and the first bytes leave before the last row is read.

The file follows the spreadsheets of its reader's language: a French spreadsheet splits on
`;` (the comma is its decimal mark) and reads dates as day/month/year; an English one splits on
`,` and gets ISO dates with their offset. Both start with a UTF-8 byte order mark."""

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from flask import Response, stream_with_context
from flask_babel import get_locale, to_user_timezone

FLUSH_AT = 64 * 1024
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): candidates type titles.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Dialect:
    """How one language's spreadsheets read a CSV file."""

    def __init__(self, delimiter: str, date_format: str | None):
        self.delimiter = delimiter
        self.date_format = date_format  # None: ISO 8601 with the offset

    def date(self, value: datetime) -> str:
        local = to_user_timezone(value)
        if self.date_format is None:
            return local.isoformat(timespec="minutes")
        return local.strftime(self.date_format)


DIALECTS = {"fr": Dialect(";", "%d/%m/%Y %H:%M")}
DEFAULT_DIALECT = Dialect(",", None)


def dialect_for(locale) -> Dialect:
    return DIALECTS.get(getattr(locale, "language", None) or str(locale or ""), DEFAULT_DIALECT)


def _cell(value, dialect: Dialect = DEFAULT_DIALECT) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return dialect.date(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(filename: str, header: Iterable[str], rows: Iterable[tuple]) -> Response:
    """An attachment whose body is generated while the request context stays open."""

    dialect = dialect_for(get_locale())

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=dialect.delimiter)
        buffer.write("\ufeff")  # spreadsheets then read the file as UTF-8
        writer.writerow([str(h) for h in header])
        for row in rows:
            writer.writerow([_cell(v, dialect) for v in row])
            if buffer.tell() >= FLUSH_AT:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
