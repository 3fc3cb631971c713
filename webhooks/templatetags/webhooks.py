"""`{% webhooks_section workspace=... %}` / `{% webhooks_section project=... %}`: the webhooks part of
a settings page, so the pages that hold it (the workspace's, promotions' project settings) need
no webhook code of their own."""

from django import template
from django.urls import reverse

from registry import rules
from webhooks.models import Webhook

register = template.Library()


@register.inclusion_tag("webhooks/_section.html", takes_context=True)
def webhooks_section(context, workspace=None, project=None):
    user = context["request"].user
    workspace = project.workspace if project is not None else workspace
    can_manage = rules.can_manage_workspace(user, workspace)
    webhooks = Webhook.objects.none()
    if can_manage:
        webhooks = Webhook.objects.visible_to(user).filter(workspace=workspace).select_related("project")
        webhooks = webhooks.filter(project=project) if project is not None else webhooks.order_by("project_id", "id")
    scope = f"project={project.pk}" if project is not None else f"workspace={workspace.pk}"
    return {
        "workspace": workspace,
        "project": project,
        "can_manage": can_manage,
        "webhooks": list(webhooks),
        "new_url": f"{reverse('webhooks:webhook_create')}?{scope}",
    }
