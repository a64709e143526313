"""The OpenAPI schema: valid, complete (every documented operation exists, every v1 endpoint is
documented), with the error shape, the x-api-key scheme and examples; docs served offline."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import resolve
from openapi_spec_validator import validate

from django_uploadkit import urls as uploadkit_urls
from django_uploadkit.schema import ALL_CODES

from .conftest import assert_error

PATH_EXAMPLES = {"{key}": "uploads%2Fnope%2Fa.jpg"}


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_schema_is_valid_openapi(schema):
    validate(schema)  # openapi-spec-validator; raises on any violation
    assert schema["openapi"].startswith("3.")


def test_generation_has_no_warnings_and_passes_spectacular_validation(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi:")


def test_every_documented_operation_exists(schema, api):
    ops = list(operations(schema))
    assert {(p, m) for p, m, _ in ops} == {
        ("/api/v1/upload/request", "post"),
        ("/api/v1/upload/complete", "post"),
        ("/api/v1/files", "get"),
        ("/api/v1/files/{key}", "delete"),
    }
    for path, method, _ in ops:
        url = path
        for placeholder, value in PATH_EXAMPLES.items():
            url = url.replace(placeholder, value)
        match = resolve(url)
        assert hasattr(match.func.view_class, method), (path, method)
        response = getattr(api, method)(url, {}, format="json")
        # It answers as an endpoint (maybe a validation or not-found error of its own),
        # never "no such endpoint" or "method not allowed".
        assert response.status_code != 405, (path, method)
        assert response.json().get("code") not in ("NOT_FOUND", "METHOD_NOT_ALLOWED"), (path, method)


def test_every_v1_endpoint_is_documented(schema):
    documented = set(schema["paths"])
    for pattern in uploadkit_urls.urlpatterns:
        route = str(pattern.pattern)
        if not route.startswith("api/v1/") or route.rstrip("/").endswith(("schema", "docs", "redoc")):
            continue
        path = "/" + route.replace("<path:key>", "{key}")
        assert path in documented, path


def test_every_operation_documents_the_error_shape_and_the_api_key(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schemes["ApiKeyAuth"]["description"],
    }
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "code"}
    code_ref = error["properties"]["code"]["allOf"][0]["$ref"]
    code_enum = schema["components"]["schemas"][code_ref.split("/")[-1]]
    assert set(code_enum["enum"]) == set(ALL_CODES)
    for code in ("INVALID_REQUEST", "MISSING_API_KEY", "INVALID_API_KEY", "FILE_TOO_LARGE",
                 "FILE_TYPE_NOT_ALLOWED", "ROUTE_NOT_FOUND", "FILE_NOT_FOUND",
                 "UPLOAD_INCOMPLETE", "UPLOAD_MISMATCH", "RATE_LIMITED", "INTERNAL_ERROR"):
        assert code in code_enum["enum"]
    for path, method, op in operations(schema):
        assert {"ApiKeyAuth": []} in op["security"], path
        for status in ("400", "401", "429", "500"):
            body = op["responses"][status]["content"]["application/json"]
            assert body["schema"]["$ref"] == "#/components/schemas/Error", (path, status)
            assert body["examples"], (path, status)
        assert op["responses"]["200"]["content"]["application/json"]["examples"], path


def test_request_and_response_shapes_follow_the_reference(schema):
    components = schema["components"]["schemas"]

    def props(name):
        return set(components[name]["properties"])

    assert props("UploadRequestRequest") == {"fileName", "fileSize", "contentType", "routeSlug", "metadata"}
    assert set(components["UploadRequestRequest"]["required"]) == {"fileName", "fileSize", "contentType", "routeSlug"}
    assert props("UploadTicket") == {"fileId", "uploadUrl", "cdnUrl", "key"}
    assert props("File") == {"id", "key", "name", "size", "type", "url", "status", "createdAt"}
    assert props("FileList") == {"files", "nextCursor"}
    assert props("UploadCompleteRequest") == {"fileId"}
    list_params = {p["name"] for p in schema["paths"]["/api/v1/files"]["get"]["parameters"]}
    assert list_params == {"limit", "cursor"}


def test_the_docs_page_uses_local_static_files_only(client, db):
    page = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "https://" not in page.replace("https://swagger.io", "")
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    redoc = client.get("/api/v1/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc


def test_schema_pages_answer_errors_in_the_api_shape(client, db):
    assert_error(client.post("/api/v1/schema/"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.get("/api/v1/schema/nope"), 404, "NOT_FOUND")
