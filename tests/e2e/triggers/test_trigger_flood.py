"""A flood of forged webhooks is refused without turning into a flood of database writes:
each gets its 401, the first ones are audited one by one, the rest are counted."""

from __future__ import annotations

import time

from trigger_world import World


def test_a_flood_of_forged_requests_is_refused_and_audited_within_a_budget(world: World) -> None:
    world.source("github", "gh", secrets={"signing_secret": "s3cr3t"})
    started = time.monotonic()
    answers = [
        world.post(
            "/webhooks/github",
            b'{"action": "closed"}',
            {"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Delivery": str(i)},
        ).status_code
        for i in range(300)
    ]
    elapsed = time.monotonic() - started
    assert answers == [401] * 300
    audited = len(world.audit("webhook.rejected"))
    assert 100 <= audited <= 100 + int(20 * elapsed) + 1
