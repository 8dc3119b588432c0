from tests.factories.users import bearer, make_user
from app.users.models import Role


def test_ferv39k_taxonomy_is_seeded(client):
    body = client.get("/api/v1/taxonomy").json()
    assert [s["name"] for s in body["scenarios"]] == [
        "Daily Life", "Weak-Interactive Shows", "Strong-Interactive Activities", "Anomaly Issues"]
    scenes = [sc["name"] for s in body["scenarios"] for sc in s["scenes"]]
    assert len(scenes) == 22 and "Talkshow" in scenes and "Crisis" in scenes
    assert all(isinstance(sc["id"], int) for s in body["scenarios"] for sc in s["scenes"])
    names = [e["name"] for e in body["expressions"]]
    assert names == ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    assert sum(len(e["descriptors"]) for e in body["expressions"]) == 26


def test_admin_adds_a_scene_and_annotator_cannot(client, session):
    admin, ann = make_user(session, Role.admin), make_user(session)
    r = client.post("/api/v1/scenes", json={"name": "Sports", "scenario": "Daily Life"}, headers=bearer(session, admin))
    assert r.status_code == 201
    again = client.post("/api/v1/scenes", json={"name": "Sports", "scenario": "Daily Life"}, headers=bearer(session, admin))
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    r = client.post("/api/v1/scenes", json={"name": "Other", "scenario": "X"}, headers=bearer(session, ann))
    assert r.status_code == 403
    daily = next(s for s in client.get("/api/v1/taxonomy").json()["scenarios"] if s["name"] == "Daily Life")
    assert daily["scenes"][-1]["name"] == "Sports"


def test_scene_names_must_be_folder_safe(client, session):
    admin = make_user(session, Role.admin)
    r = client.post("/api/v1/scenes", json={"name": "Road Trip", "scenario": "Daily Life"}, headers=bearer(session, admin))
    assert r.status_code == 422 and "name" in r.json()["detail"]
