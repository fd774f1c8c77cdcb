"""Who may read the operations pages (costs, alerts, reports): reviewers and admins."""

from agents.selectors import user_is_admin, user_is_reviewer
from console.pages.auth import role_required

operator_required = role_required(
    user_is_reviewer, denial="only reviewers and admins read the operations pages"
)
admin_required = role_required(user_is_admin, denial="only admins change alert rules")
