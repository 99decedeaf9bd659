"""Access decorators: anonymous users go to sign-in, the wrong role gets a 403 page."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from webapp.models import Role

STAFF = (Role.ADMIN, Role.MANAGER, Role.EVALUATOR)
PLATFORM_MANAGERS = (Role.ADMIN, Role.MANAGER)


def role_required(*roles: Role):
    """Require a signed-in user holding one of `roles`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
