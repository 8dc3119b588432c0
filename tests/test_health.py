def test_healthz_reports_db_and_broker(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"db": "ok", "broker": "ok"}


def test_openapi_documents_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/auth/token", "/api/v1/taxonomy", "/api/v1/users", "/api/v1/users/{user_id}"):
        assert p in paths
    assert client.get("/docs").status_code == 200


def test_healthz_says_the_embedded_broker_is_down_when_its_file_cannot_be_made(client, settings, monkeypatch,
                                                                                tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(settings, "broker_url", f"sqla+sqlite:///{blocker}/broker.db")
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["broker"].startswith("error") and r.json()["db"] == "ok"


def test_healthz_says_a_writable_embedded_broker_is_ok(client, settings, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "broker_url", f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    assert client.get("/healthz").json()["broker"] == "ok"
