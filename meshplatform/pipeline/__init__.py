"""Pipeline execution, pure Python (no Django, no Celery): spec, sources, steps, runtime."""
