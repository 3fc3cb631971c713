"""Who may change what. Reads are scoped by `visible_to`; these answer the write questions.

Services call them and raise PermissionDenied (a 403) for an object the user can already see.
"""

from registry.models import MLModel, Project, RegisteredModel, Role, Tag, Workspace


def role_in(user, workspace_id: int) -> str | None:
    from registry.models import Membership

    if not user.is_authenticated:
        return None
    return Membership.objects.filter(workspace_id=workspace_id, user_id=user.pk).values_list("role", flat=True).first()


def can_manage_workspace(user, workspace: Workspace) -> bool:
    return user.is_staff or role_in(user, workspace.pk) == Role.OWNER


def can_write_in_workspace(user, workspace_id: int) -> bool:
    """Create projects and upload models there."""
    return user.is_staff or role_in(user, workspace_id) in (Role.OWNER, Role.MEMBER)


def can_edit_project(user, project: Project) -> bool:
    if user.is_staff:
        return True
    role = role_in(user, project.workspace_id)
    return role == Role.OWNER or (role == Role.MEMBER and project.created_by_id == user.pk)


def can_edit_model(user, model: MLModel) -> bool:
    if user.is_staff:
        return True
    role = role_in(user, model.project.workspace_id)
    return role == Role.OWNER or (role == Role.MEMBER and model.uploader_id == user.pk)


def can_edit_tags(user, workspace_id: int) -> bool:
    """Create, describe and rename the workspace's tags: its owners and members (viewers read)."""
    return can_write_in_workspace(user, workspace_id)


def can_delete_tag(user, tag: Tag) -> bool:
    """Owners delete any of the workspace's tags; a member, one that no one else's model carries:
    deleting strips the tag from every model, and a member changes only their own models."""
    if user.is_staff:
        return True
    role = role_in(user, tag.workspace_id)
    if role == Role.OWNER:
        return True
    return role == Role.MEMBER and not tag.models.exclude(uploader_id=user.pk).exists()


def _workspace_of(registered_model: RegisteredModel) -> int:
    # The list's rows carry it as an annotation; otherwise through the project.
    workspace_id = registered_model.__dict__.get("workspace_id")
    return workspace_id if workspace_id is not None else registered_model.project.workspace_id


def can_edit_registered_model(user, registered_model: RegisteredModel) -> bool:
    """Change its description (model card): the workspace's owners and members."""
    return can_write_in_workspace(user, _workspace_of(registered_model))


def can_set_alias(user, registered_model: RegisteredModel) -> bool:
    """Set, move and remove its aliases: owners and members, as far as the project's alias rules
    let them (promotions/evaluation.py narrows it per alias)."""
    return can_write_in_workspace(user, _workspace_of(registered_model))


def can_delete_registered_model(user, registered_model: RegisteredModel) -> bool:
    """Delete it with all its versions, other members' included: the workspace's owners."""
    return user.is_staff or role_in(user, _workspace_of(registered_model)) == Role.OWNER
