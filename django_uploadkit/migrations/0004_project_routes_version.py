"""A version on each project that changes with its routes: routes.py caches routes by it."""

from django.db import migrations, models

import django_uploadkit.ids


class Migration(migrations.Migration):

    dependencies = [
        ("django_uploadkit", "0003_encrypt_webhook_secrets"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="routes_version",
            field=models.BigIntegerField(
                db_default=0, default=django_uploadkit.ids.new_version, editable=False
            ),
        ),
    ]
