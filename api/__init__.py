"""What every API endpoint shares (REST framework plumbing with no domain): token
authentication, per-token throttling, the permission check, the error body, CSV output,
pagination, base view sets and the OpenAPI additions. Named in ``REST_FRAMEWORK`` settings;
the routes are in ``config/api_urls.py``."""
