def test_healthz_reports_db_and_broker(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"db": "ok", "broker": "ok"}


def test_openapi_documents_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/auth/token", "/api/v1/taxonomy", "/api/v1/users", "/api/v1/users/{user_id}"):
        assert p in paths
    assert client.get("/docs").status_code == 200
