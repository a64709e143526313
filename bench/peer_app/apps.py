from django.apps import AppConfig


class PeerAppConfig(AppConfig):
    name = "bench.peer_app"
    label = "bench_peer"
    default_auto_field = "django.db.models.BigAutoField"
