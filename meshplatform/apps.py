from django.apps import AppConfig


class MeshPlatformConfig(AppConfig):
    name = "meshplatform"
    verbose_name = "Mesh platform"

    def ready(self) -> None:
        # Binds @shared_task to our app (and its broker settings) in every process.
        from meshplatform.celery import app  # noqa: F401, PLC0415
