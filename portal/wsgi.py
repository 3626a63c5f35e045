import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# The web's queries are the ORM's, planned in the order written (DB_JOIN_COLLAPSE_LIMIT in settings).
os.environ.setdefault("DB_JOIN_COLLAPSE_LIMIT", "1")
application = get_wsgi_application()
