import pytest
import sqlalchemy as sa

from webapp import outbox
from webapp.core.errors import ValidationFailed
from webapp.models.outbox import OutboxMessage
from webapp.outbox import rows as outbox_rows


def _fields(**overrides):
    fields = dict(key=outbox.dedupe_key(1, "submitted", 7, "Ana@Example.org"),
                  to_addr="ana@example.org", subject="Hello", body_html="<p>Hi</p>",
                  body_text="Hi")
    fields.update(overrides)
    return fields


def test_a_message_gets_a_stable_message_id_and_the_auto_submitted_header(db):
    message = outbox.enqueue(**_fields())
    db.session.commit()
    assert message.state == "pending"
    assert message.headers["Auto-Submitted"] == "auto-generated"
    assert message.message_id == outbox_rows.message_id_for("1:submitted:7:ana@example.org")
    assert message.message_id.endswith("@missive.example.org>")


def test_the_same_dedupe_key_cannot_be_stored_twice(db):
    outbox.enqueue(**_fields())
    db.session.commit()
    outbox.enqueue(**_fields())
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


@pytest.mark.parametrize("field", ["subject", "to_addr", "reply_to", "to_name"])
def test_a_header_with_a_newline_is_refused(db, field):
    with pytest.raises(ValidationFailed):
        outbox.enqueue(**_fields(**{field: "x@example.org\r\nBcc: victim@example.org"}))
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_an_oversized_body_is_refused(db):
    with pytest.raises(ValidationFailed):
        outbox.enqueue(**_fields(body_html="x" * (600 * 1024)))


def test_a_context_for_a_real_application_renders_every_placeholder(db):
    from tests import factories
    from webapp.services import templating

    campaign = factories.make_campaign(label="Grants")
    application = factories.make_application(campaign, status_code="submitted")
    ctx = templating.context_for(application, "Ana Lopez", "ana@example.org", "en",
                                 old_status=factories.status("submitted"),
                                 new_status=factories.status("accepted"))
    source = " | ".join("{{ " + p.name + " }}" for p in templating.CATALOGUE
                        if p.name in templating.CAMPAIGN_NAMES)
    rendered = templating.render(source, ctx, html=False)
    assert rendered.startswith("Ana Lopez | Camille | ")
    assert f"| {application.reference} | Submitted | Accepted |" in rendered
    assert f"http://missive.test/my/applications/{application.id}" in rendered
