"""Campaigns and their Emails tab: one blueprint, one views module per feature."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from webapp.blueprints.campaigns import (  # noqa: E402, F401
    emails_views,
    held_views,
    reminder_views,
    sample_views,
    trigger_views,
    views,
)
