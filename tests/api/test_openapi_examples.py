"""Every operation's OpenAPI entry has an example request body (if it takes one) and an example
response, and every example is valid against the schema it illustrates."""

import jsonschema
import pytest
from django.test import Client

from console.api_examples import EXAMPLES


@pytest.fixture(scope="module")
def document() -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _examples(schema: dict, components: dict) -> list:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        return _examples(schema["items"], components)
    return schema.get("examples", [])


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_an_example_request_and_response(document):
    components = document["components"]["schemas"]
    missing = []
    for name, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and not _examples(body["schema"], components):
            missing.append(f"{name}: request")
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if (
                str(status).startswith("2")
                and content is not None
                and not _examples(content["schema"], components)
            ):
                missing.append(f"{name}: {status} response")
    assert missing == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_is_valid_against_its_schema(document, name):
    components = document["components"]["schemas"]
    assert name in components, f"{name} is no longer a schema of the API"
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": components}}

    jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker()).validate(EXAMPLES[name])


def test_a_wrong_example_would_be_caught(document):
    root = {
        "$ref": "#/components/schemas/TaskAccepted",
        "components": {"schemas": document["components"]["schemas"]},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(root).validate({"id": "x", "status": "queued"})
