"""Template values every page's frame needs."""

from django.utils.functional import SimpleLazyObject

from registry.models import Membership, Role


def upload_rights(request):
    """`may_upload`: whether the signed-in user may upload anywhere (an owner or member of some
    workspace, or staff). The navigation, the dashboard and the models list offer "Upload" only
    then: a viewer, or someone in no workspace yet, would only reach a form with no project to
    choose. Lazy: one EXISTS query, only on pages that ask."""

    def answer() -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        if user.is_staff:
            return True
        return Membership.objects.filter(user_id=user.pk, role__in=[Role.OWNER, Role.MEMBER]).exists()

    return {"may_upload": SimpleLazyObject(answer)}
