"""The transactional outbox on both databases: enqueue once, claim, lease, retry, give up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from autoinvoice.adapters.db.outbox import MAX_ATTEMPTS
from autoinvoice.services.jobs import backoff, one_at_a_time, requeue_dead_jobs, run_jobs_once
from autoinvoice.services.ports import Job, PermanentMailError, TemporaryMailError
from builders import make_app


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = make_app(database_url, tmp_path)
    yield a
    a.engine.dispose()


def _enqueue(app, key: str, delay: timedelta = timedelta(0)) -> bool:  # type: ignore[no-untyped-def]
    now = app.clock.now()
    with app.uow() as uow:
        added = uow.outbox.enqueue("noop", {"k": key}, key, now + delay, now)
        uow.commit()
    return added


def test_a_job_with_the_same_key_is_enqueued_once(app) -> None:
    assert _enqueue(app, "deliver:1") is True
    assert _enqueue(app, "deliver:1") is False
    with app.uow() as uow:
        assert uow.outbox.counts() == {"pending": 1}


def test_a_job_is_not_claimed_before_its_time(app) -> None:
    _enqueue(app, "later", timedelta(minutes=5))
    with app.uow() as uow:
        assert uow.outbox.claim("w1", app.clock.now(), 60, 10) == []
        assert len(uow.outbox.claim("w1", app.clock.now() + timedelta(minutes=5), 60, 10)) == 1


def test_a_claimed_job_is_invisible_to_others_until_its_lease_expires(app) -> None:
    _enqueue(app, "a")
    now = app.clock.now()
    with app.uow() as uow:
        [job] = uow.outbox.claim("dead-worker", now, 60, 10)
        uow.commit()
    with app.uow() as uow:
        assert uow.outbox.claim("w2", now + timedelta(seconds=59), 60, 10) == []
        [again] = uow.outbox.claim("w2", now + timedelta(seconds=61), 60, 10)
        uow.commit()
    assert again.id == job.id and again.attempts == 2
    with app.uow() as uow:
        assert uow.outbox.complete(job.id, "dead-worker", now) is False  # lost its lease
        assert uow.outbox.complete(job.id, "w2", now) is True
        uow.commit()


def test_a_failing_job_is_retried_with_back_off_then_given_up(app) -> None:
    _enqueue(app, "flaky")
    calls: list[int] = []

    def handler(job: Job) -> None:
        calls.append(job.attempts)
        raise TemporaryMailError(451, "try later")

    t = app.clock.now()
    for _ in range(MAX_ATTEMPTS):
        assert (
            run_jobs_once(
                uow=app.uow(),
                clock=app.clock,
                worker="w",
                handlers={"noop": one_at_a_time(handler)},
            )
            == 1
        )
        assert (
            run_jobs_once(
                uow=app.uow(),
                clock=app.clock,
                worker="w",
                handlers={"noop": one_at_a_time(handler)},
            )
            == 0
        )  # waiting for back-off
        app.clock.advance(backoff(len(calls)))
    assert calls == list(range(1, MAX_ATTEMPTS + 1))
    with app.uow() as uow:
        assert uow.outbox.counts() == {"dead": 1, "pending": 1}  # + the owner's alert
        actions = [a["action"] for a in uow.audit.recent(subject_type="job")]
    assert actions[0] == "job.dead"
    assert actions.count("job.retry_scheduled") == MAX_ATTEMPTS - 1
    assert app.clock.now() - t > timedelta(hours=20)  # an outage of hours is ridden out
    assert requeue_dead_jobs(uow=app.uow(), clock=app.clock, actor="t") == [1]
    with app.uow() as uow:
        assert uow.outbox.counts() == {"pending": 2}


def test_a_permanent_error_gives_up_at_once(app) -> None:
    _enqueue(app, "bad-address")

    def handler(job: Job) -> None:
        raise PermanentMailError(550, "5.1.1 no such user")

    run_jobs_once(
        uow=app.uow(), clock=app.clock, worker="w", handlers={"noop": one_at_a_time(handler)}
    )
    with app.uow() as uow:
        assert uow.outbox.counts() == {"dead": 1, "pending": 1}  # + the owner's alert
        [alert] = [j for j in uow.outbox.claim("t", app.clock.now(), 60, 5, ["notify_owner"])]
    assert "noop failed and will not be retried" in alert.payload["subject"]
    assert "550" in alert.payload["body"]


def test_back_off_doubles_and_is_capped_at_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50) == timedelta(hours=1)
