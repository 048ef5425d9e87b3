"""/docs and /redoc work offline, and the OpenAPI schema tells the truth about auth and errors."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ..factories import login, make_workspace

ASSET_URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""")


def _urls(html: str) -> list[str]:
    return [a or b for a, b in ASSET_URL.findall(html)]


def test_docs_pages_load_only_local_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200, page
        urls = _urls(response.text)
        assert urls, page
        assert "http://" not in response.text and "https://" not in response.text, page
        assert "fonts.googleapis" not in response.text
        for url in urls:
            assert url.startswith("/"), (page, url)
            served = client.get(url)
            assert served.status_code == 200, (page, url)
            assert served.content, url
    assert client.get("/docs").text.count("/api-docs-assets/") >= 3  # js, css, icon


def test_the_schema_documents_security_schemes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["sessionCookie"]["name"] == "tandem_session"
    assert schemes["csrfHeader"]["name"] == "X-CSRF-Token"
    paths = schema["paths"]
    team = paths["/api/v1/conversations"]["get"]["security"]
    assert {"apiToken": []} in team and {"sessionCookie": [], "csrfHeader": []} in team
    assert "security" in paths["/api/v1/audit"]["get"]
    assert "security" in paths["/api/v1/tokens"]["post"]
    assert paths["/api/v1/widget/conversations/{conversation_id}/messages"]["post"]["security"] == [
        {"customerToken": []}
    ]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    assert "security" not in paths["/api/v1/widget/conversations"]["post"]


def test_the_schema_documents_the_real_error_envelope(client: TestClient, factory) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's shape is never sent
    assert schemas["Error"]["required"] == ["error"]
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "4XX" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == ref
    secured = schema["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert {"401", "403", "422"} <= set(secured)
    # And the real responses have that shape.
    ws = make_workspace(factory)
    unauthenticated = client.get("/api/v1/tokens")
    assert set(unauthenticated.json()["error"]) >= {"code", "message"}
    csrf = login(client, ws.agent_email)
    invalid = client.post("/api/v1/tokens", headers=csrf, json={"name": ""})
    assert invalid.status_code == 422
    assert set(invalid.json()) == {"error"}
    assert set(invalid.json()["error"]) >= {"code", "message"}
