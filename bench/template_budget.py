"""The limits of email templates: each hostile template of the security review, checked as on
save (sample values) and rendered as when firing (one recipient): time, output and peak memory,
beside an ordinary template. The allow-list of template syntax (webapp/services/
template_syntax.py) refuses every one while parsing; its docstring keeps the figures of the
budgeted engine it replaced."""

import os
import tempfile
import tracemalloc
from datetime import date, datetime

from bench.harness import Figure, timed

PAYLOADS = {
    "9**10000000 > 1": "<p>{{ 9**10000000 > 1 }}</p>",
    "'x' * 10**8": "<p>{{ 'x' * 10**8 }}</p>",
    "1/0": "<p>{{ 1/0 }}</p>",
    "'a' > 1": "<p>{{ 'a' > 1 }}</p>",
    "truncate(-5)": "<p>{{ recipient_name|truncate(-5) }}</p>",
    "recursive macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "macro calling itself twice": "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "nested loops": "{% for a in 'x'*9999 %}{% for b in 'x'*9999 %}{% endfor %}{% endfor %}",
    "output of 10 MB": "{% for a in 'x'*9999 %}{{ 'y'*999 }}{% endfor %}",
    "doubling": "{% set a = 'x'*99999 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c }}",
    "format width": "{{ '%0999999999d' % 1 }}",
    "growing method": "{{ recipient_name.center(100000000) }}",
    "loops over a value, 4 deep": "{% for a in candidate_name %}" * 4 + "x" + "{% endfor %}" * 4,
}
ORDINARY = ("<p>Hello {{ recipient_name }},</p><p>Your application {{ application_reference }} "
            "to {{ campaign_label }} is now {{ status_label }}.</p>"
            "{% if status_label == 'Accepted' %}<p><b>{{ campaign_label|upper }}</b></p>"
            "{% else %}<p>{{ candidate_first_name|title }}</p>{% endif %}")


def _context():
    from webapp.models import Application, Campaign, Status, User
    from webapp.services.templating import RenderContext

    candidate = User(first_name="Victim", last_name="Martin", email="v@example.org")
    campaign = Campaign(label="Research grants 2027", opens_at=datetime(2027, 1, 1),
                        closes_at=datetime(2027, 3, 31))
    status = Status(code="accepted", label_en="Accepted", label_fr="Accepté")
    application = Application(id=42, reference="MIS-ABCD", candidate=candidate,
                              campaign=campaign, status=status)
    return RenderContext(locale="en", recipient_name=candidate.name,
                         recipient_email=candidate.email, platform_name="Missive",
                         base_url="https://missive.example.org", today=date(2026, 11, 28),
                         application=application, new_status=status)


def _measure(source: str, rounds: int) -> tuple[list[float], float, str]:
    """Seconds per (save check + firing render), the peak traced memory in MB, and what
    became of the template (its output's size, or why it was refused)."""
    from webapp.services import templating

    ctx = _context()
    outcome = []

    def once():
        templating.find_problems(source)
        try:
            html = templating.render_email("Subject", source, "", ctx).html
            outcome[:] = [f"rendered, {len(html):,} characters"]
        except templating.TemplateProblem as error:
            outcome[:] = [f"refused: {str(error)[:70]}"]

    once()  # compiled once, as the cache does in a running app
    times = [timed(once)[0] for _ in range(rounds)]
    tracemalloc.start()
    once()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return times, peak, outcome[0]


def run(rounds: int = 3) -> list[Figure]:
    from webapp import create_app

    os.environ.setdefault("MISSIVE_INSTANCE_PATH", tempfile.mkdtemp(prefix="missive-bench-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI":
                      "sqlite://"})
    figures = []
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from webapp.extensions import db

        db.create_all()  # every email reads the platform's branding
        baseline, baseline_peak, _ = _measure(ORDINARY, rounds)
        for name, source in PAYLOADS.items():
            times, peak, outcome = _measure(source, rounds)
            figures.append(Figure(
                f"hostile template: {name}", "ms", [t * 1000 for t in times],
                "an ordinary template", [t * 1000 for t in baseline], "≤ 1,000 ms, ≤ 5 MB",
                higher_is_better=False,
                notes=[f"{outcome}; peak {peak:.2f} MB (ordinary template: "
                       f"{baseline_peak:.2f} MB)"]))
    return figures
