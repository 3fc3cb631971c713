"""Create the `admin` superuser on first start, so a new install can be signed in to at once."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser `admin` if no superuser exists (password: MAISIE_ADMIN_PASSWORD or generated)."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin user exists already.")
            return
        password = os.environ.get("MAISIE_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", password, full_name="Administrator")
        if generated:
            # Printed once: it is stored only as a hash.
            self.stdout.write(f"Created user `admin` with password: {password}")
        else:
            self.stdout.write("Created user `admin` with the password from MAISIE_ADMIN_PASSWORD.")
