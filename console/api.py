"""The REST API (/api/v1/): token auth, JSON errors, OpenAPI document."""

from ninja import NinjaAPI

api = NinjaAPI(title="Tollgate", version="1", urls_namespace="api")
