"""The database backend: django-tenants' PostgreSQL backend, remembering the connection's
search_path across requests (see base.py)."""
