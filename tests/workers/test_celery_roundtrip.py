"""A real worker process against the configured broker (embedded SQLite by
default, Redis when FERVLAB_BROKER_URL says so)."""
import time
import uuid

from app.core.config import get_settings


def test_health_task_round_trips_through_the_broker(worker_process):
    from workers.tasks import health

    nonce = uuid.uuid4().hex
    t0 = time.monotonic()
    result = health.apply_async(args=[nonce], queue="cpu").get(timeout=90)
    assert result["pong"] == nonce
    assert time.monotonic() - t0 < 90
    backend = "redis" if get_settings().broker_url.startswith("redis") else "embedded"
    print(f"round trip on {backend} broker: {time.monotonic() - t0:.2f}s")


def test_cpu_and_gpu_queues_never_share_a_route():
    # A shared exchange + key would copy every task into both queues, so a
    # worker on both would run it twice.
    from workers.celery_app import celery_app

    queues = celery_app.amqp.queues
    assert {(q.exchange.name, q.routing_key) for q in (queues["cpu"], queues["gpu"])} == {("cpu", "cpu"), ("gpu", "gpu")}
