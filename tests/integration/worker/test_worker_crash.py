"""A worker process killed in the middle of a delivery: its job is picked up again by
another worker once the lease runs out, and every invoice reaches the client exactly once.

Real parts throughout: the `autoinvoice worker` command in its own process, the database
(SQLite and PostgreSQL), an aiosmtpd server. The kill lands while the worker waits for the
SMTP server to answer RCPT — rendered, logged as sending, not yet accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.services.invoicing import issue_invoice
from builders import draft_for, make_app, make_client, make_entity
from smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow
N = 12


def _worker(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoinvoice", "worker", "--name", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killing_a_worker_mid_delivery_loses_nothing_and_sends_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path)
    client = make_client(app, make_entity(app))
    ids = [draft_for(app, client) for _ in range(N)]
    for inv_id in ids:
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")

    with SmtpTestServer(delay_rcpt_seconds=60) as smtp:
        env = {
            **os.environ,
            "AUTOINVOICE_DATABASE_URL": database_url,
            "AUTOINVOICE_DATA_DIR": str(tmp_path),
            "AUTOINVOICE_SMTP_HOST": smtp.host,
            "AUTOINVOICE_SMTP_PORT": str(smtp.port),
            "AUTOINVOICE_WORKER_LEASE_SECONDS": "3",
            "AUTOINVOICE_WORKER_BATCH": "1",
            "AUTOINVOICE_WORKER_POLL_SECONDS": "0.2",
        }
        doomed = _worker(env, "doomed")
        assert smtp.rcpt_seen.wait(60), "the worker never reached the SMTP server"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        smtp.delay_rcpt_seconds = 0
        with app.uow(read_only=True) as uow:
            assert uow.outbox.counts().get("running") == 1  # orphaned by the dead worker

        survivor = _worker(env, "survivor")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with app.uow(read_only=True) as uow:
                if uow.outbox.counts() == {"done": N}:
                    break
            time.sleep(0.2)
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(20)
        received = smtp.wait_for(N, timeout=5)

    message_ids = [m.message["Message-ID"] for m in received]
    assert len(received) == N, f"{len(received)} messages for {N} invoices"
    assert len(set(message_ids)) == N
    with app.uow(read_only=True) as uow:
        assert uow.outbox.counts() == {"done": N}
        assert all(uow.invoices.get(i).status is InvoiceStatus.SENT for i in ids)
        retried = [
            a
            for a in uow.audit.recent(500)
            if a["action"] == "invoice.sent" and a["actor"] == "survivor"
        ]
    assert len(retried) == N  # the survivor finished the orphaned job and the rest
    app.engine.dispose()
