"""Security headers on every answer, a 405's full Allow, and error answers
documented as they are (issue 10, defect 12)."""
from __future__ import annotations


def test_pages_and_api_send_security_headers(client):
    for path in ("/login", "/api/v1/taxonomy", "/static/app.css", "/nowhere"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
    # Swagger UI's page starts itself with an inline script; nothing else may.
    assert "'unsafe-inline'" in client.get("/docs").headers["content-security-policy"].split("script-src")[1]


def test_a_405_lists_every_method_of_its_path(client):
    r = client.put("/api/v1/clips/1/gold")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"POST", "DELETE"}
    r = client.post("/api/v1/me")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def test_error_answers_are_documented_as_detail_strings(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Error"]["properties"]["detail"]["type"] == "string"
    op = spec["paths"]["/api/v1/campaigns/{campaign_id}"]["patch"]["responses"]
    for code in ("401", "403", "404", "409", "413", "422", "503"):
        assert op[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, code
    # An anonymous read documents no 401.
    assert "401" not in spec["paths"]["/api/v1/taxonomy"]["get"]["responses"]
