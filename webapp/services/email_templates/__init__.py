"""Email templates: read (reading), checked (checking), changed (changing) and tried
(previews: a preview, a test email), and the default acknowledgement of receipt. Callers use
this package's names."""

from webapp.services.email_templates.changing import (
    delete_template,
    duplicate_template,
    save_template,
)
from webapp.services.email_templates.checking import (
    JINJA_TAG,
    sanitize_html,
    validate,
)
from webapp.services.email_templates.previews import (
    preview,
    send_test,
    test_subject,
)
from webapp.services.email_templates.reading import (
    DEFAULT_ACKNOWLEDGEMENT,
    DEFAULT_SORT,
    LIST_SORTS,
    LOCALES,
    PAGE_SIZE,
    TemplateInput,
    VersionInput,
    default_acknowledgement_template,
    find_by_name,
    get_application,
    get_template,
    input_from,
    last_changes,
    list_system_templates,
    list_templates,
    log,
    recent_applications,
    template_for,
    template_history,
    template_page,
    triggers_using,
)

__all__ = [
    "DEFAULT_ACKNOWLEDGEMENT",
    "DEFAULT_SORT",
    "LIST_SORTS",
    "LOCALES",
    "PAGE_SIZE",
    "TemplateInput",
    "VersionInput",
    "default_acknowledgement_template",
    "find_by_name",
    "get_application",
    "get_template",
    "input_from",
    "last_changes",
    "list_system_templates",
    "list_templates",
    "log",
    "recent_applications",
    "template_for",
    "template_history",
    "template_page",
    "triggers_using",
    "JINJA_TAG",
    "sanitize_html",
    "validate",
    "delete_template",
    "duplicate_template",
    "save_template",
    "preview",
    "send_test",
    "test_subject",
]
