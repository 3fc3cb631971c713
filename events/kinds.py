"""The vocabulary of events: every `kind` that `events.services.record` accepts, with what it means.

One source: `record()` refuses a kind not listed here, the API's `kind=` filter offers these,
and docs/events.md lists each (tests/test_kinds.py fails on a gap). To record a new kind, add it
here with its sentence.
"""

KINDS: dict[str, str] = {
    # Model versions (registry/services.py).
    "model.created": "a model version was uploaded",
    "model.updated": "a model version's fields changed (before/after hold the changed fields)",
    "model.deleted": "a model version was deleted",
    "model.visibility_changed": "a model version was made private or public",
    "model.tags_changed": "tags were added to or removed from a model version",
    # A workspace's tags themselves (/api/v1/tags/; registry/services.py).
    "tag.created": "a tag was created in a workspace's vocabulary",
    "tag.renamed": "a tag's name changed (with its description, if that changed too)",
    "tag.updated": "a tag's description changed",
    "tag.deleted": "a tag was deleted; the models that carried it lost it",
    # Workspaces, projects and members (registry/services.py).
    "workspace.created": "a workspace was created",
    "workspace.renamed": "a workspace's name changed (with any other changed field)",
    "workspace.updated": "a workspace's description changed",
    "workspace.deleted": "a workspace was deleted with its projects and models",
    "project.created": "a project was created",
    "project.renamed": "a project's name changed (with any other changed field)",
    "project.updated": "a project's description, git URL or workspace changed",
    "project.deleted": "a project was deleted with its models",
    "membership.added": "a user joined a workspace",
    "membership.removed": "a user left or was removed from a workspace",
    "membership.role_changed": "a member's role changed",
    # Invitations into a workspace (accounts/invitations.py; only the workspace's owners read these).
    "invitation.created": "an owner invited an email address or a login into a workspace with a role",
    "invitation.accepted": "an invitation's link was used: its person joined the workspace",
    "invitation.revoked": "an owner revoked a pending invitation",
    # Credentials (accounts/services.py).
    "token.created": "a personal API token was created",
    "token.revoked": "a personal API token was revoked",
    "ssh_key.added": "an SSH public key was registered for signing in",
    "ssh_key.removed": "an SSH public key was removed",
    # Registered models, aliases, promotion and rules (issue 14, recorded by their services).
    "registered_model.created": "a registered model was created (by the first upload, rename or move of its name)",
    "registered_model.updated": "a registered model's description changed",
    "registered_model.deleted": "a registered model was deleted with all its versions",
    "alias.set": "an alias was set on a version",
    "alias.moved": "an alias moved from one version to another",
    "alias.removed": "an alias was removed",
    "alias.rolled_back": "an alias was pointed back at its previous version",
    "promotion.opened": "a promotion request was opened",
    "promotion.approved": "a promotion request received an approval",
    "promotion.rejected": "a promotion request was rejected",
    "promotion.cancelled": "a promotion request was cancelled",
    "promotion.completed": "a promotion request's last approval moved its alias",
    "rules.changed": "a project's alias rules changed",
    # Webhooks (webhooks/services.py; only the workspace's owners read these).
    "webhook.created": "a webhook was created",
    "webhook.updated": "a webhook's URL, kinds, condition or description changed",
    "webhook.paused": "a webhook was paused, by an owner or after failing deliveries (after holds why)",
    "webhook.resumed": "a paused webhook was resumed",
    "webhook.secret_rotated": "a webhook's signing secret was replaced (never in the event)",
    "webhook.deleted": "a webhook was deleted with its delivery log",
}

# The part before the dot: `kind=model` and `kind=model.*` select all of a family.
FAMILIES: frozenset[str] = frozenset(kind.split(".", 1)[0] for kind in KINDS)
