"""Django helpers with no domain: tables, page rendering, forms, dates and the application
error. Nothing here imports ``systems``, ``oversight`` or ``delegation``."""
