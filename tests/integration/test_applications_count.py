"""Past a threshold the applications list stops counting and says "more than N"."""

from tests import factories
from webapp.services import applications


def test_the_list_says_more_than_n_past_the_exact_count(auth, client, db, monkeypatch):
    campaign = factories.make_campaign()
    for _ in range(5):
        factories.make_application(campaign, status_code="submitted")
    db.session.commit()
    auth.login_as("manager")

    exact = client.get(f"/applications/campaigns/{campaign.id}").get_data(as_text=True)
    assert "5 applications match." in exact
    assert "All 5 applications matching this filter" in exact

    monkeypatch.setattr(applications.staff, "EXACT_COUNT_UP_TO", 3)
    capped = client.get(f"/applications/campaigns/{campaign.id}").get_data(as_text=True)
    assert "More than 3 applications match." in capped
    assert "All applications matching this filter (more than 3)" in capped
    assert capped.count('name="ids"') == 5  # the page itself is not capped
