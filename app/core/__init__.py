"""Infrastructure shared by every feature: database base, tenancy, security, audit, jobs, mail, stored files,
PDF rendering, i18n. Core imports no feature package (only app.core and app.extensions; tests/test_core_layer.py);
what it needs from a feature is handed in by create_app."""
