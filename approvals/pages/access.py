"""Who may open the approval pages: reviewers for the queue, admins for the policy."""

from agents.selectors import user_is_admin
from approvals.selectors import user_may_open_queue
from console.pages.auth import role_required

reviewer_required = role_required(
    user_may_open_queue, denial="only reviewers and admins may open the approval queue"
)
admin_required = role_required(user_is_admin, denial="only admins may change the risk policy")
