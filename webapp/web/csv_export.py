"""CSV downloads, streamed: rows are written as the query yields them, so an export of any
size holds one chunk in memory, and the first bytes leave before the last row is read."""

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from flask import Response, stream_with_context
from flask_babel import to_user_timezone

FLUSH_AT = 64 * 1024
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): candidates type titles.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_user_timezone(value).isoformat(timespec="minutes")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(filename: str, header: Iterable[str], rows: Iterable[tuple]) -> Response:
    """An attachment whose body is generated while the request context stays open."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # spreadsheets then read the file as UTF-8
        writer.writerow([str(h) for h in header])
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            if buffer.tell() >= FLUSH_AT:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
