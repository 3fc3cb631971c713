import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maisie_site.settings")
application = get_wsgi_application()

# A server starting (each gunicorn worker, runserver) removes the spool files of uploads that died
# with an earlier process; live uploads' spools are recent and are left alone.
from registry.uploads import sweep_stale_spools  # noqa: E402 (needs the app loaded above)

sweep_stale_spools()
