"""Persistence: SQLAlchemy 2 models, services with verbs over them, Alembic migrations."""
