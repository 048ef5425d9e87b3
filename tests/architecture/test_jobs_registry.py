"""Job handlers and periodic tasks are registered in one place, tandem.jobs.registry."""

from __future__ import annotations

import json
import subprocess
import sys

from tandem.jobs.service import DEFAULT_LANE, TRAINING_LANE

from .rules import (
    REGISTRATION_PENDING_LEAD,
    ROOT,
    check_tree,
    docstring_examples,
    enqueued_kinds,
    job_registrations,
    periodic_functions,
    report,
    source_files,
)

# Runs in a fresh interpreter, so nothing another test imported can register anything.
_PROBE = """
import json, sys
from sqlalchemy.orm import sessionmaker
from tandem.jobs import service
from tandem.jobs.worker import Worker, registered_periodic

before = sorted(service.registered_kinds())
Worker(sessionmaker())
print(json.dumps({
    "before": before,
    "lanes": {kind: r.lane for kind, r in service.registered_kinds().items()},
    "periodic": [f"{f.__module__}.{f.__qualname__}" for _, f in registered_periodic()],
    "views": sorted(m for m in sys.modules if m.startswith("tandem.") and m.endswith("views")),
}))
"""


def _fresh_worker() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_jobs_and_timers_are_registered_only_in_the_registry() -> None:
    """Handler modules define plain functions; `tandem.jobs.registry.register_all` registers
    them, and the app and every Worker call it. Nothing registers as a side effect of being
    imported (a views module importing `timers` used to be what started the SLA timer).

    Bad (`src/tandem/routing/timers.py`)::

        from tandem.jobs.worker import register_periodic

        register_periodic(30.0, periodic_sla_check)

    Good (`src/tandem/jobs/registry.py`)::

        register_periodic(CHECK_EVERY_SECONDS, periodic_sla_check)
    """
    found, stale = check_tree(job_registrations, REGISTRATION_PENDING_LEAD)
    assert not found, report(found, "Register it in tandem/jobs/registry.py instead.")
    assert not stale, f"remove these from REGISTRATION_PENDING_LEAD, they are fixed: {stale}"


def test_registration_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    examples = docstring_examples(test_jobs_and_timers_are_registered_only_in_the_registry.__doc__)
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    assert [v.line for v in job_registrations(bad, bad_path)] == [3]
    assert job_registrations(good, good_path) == []
    decorator = 'from tandem.jobs import service\n@service.register("x")\ndef run(s, p): ...\n'
    assert [v.line for v in job_registrations(decorator, "src/tandem/triage/flows.py")] == [2]


def test_a_fresh_worker_knows_every_job_kind_enqueued_and_every_timer() -> None:
    kinds: set[str] = set()
    timers: set[str] = set()
    unclear = []
    for path, source in source_files():
        found, unsure = enqueued_kinds(source, path)
        kinds |= found
        unclear += unsure
        timers |= periodic_functions(source, path)
    assert not unclear, report(unclear, "Name the job kind with a literal or a constant.")
    assert {"process_customer_message", "conversation_resolved"} <= kinds  # the scan works

    worker = _fresh_worker()
    assert worker["before"] == [], "importing tandem.jobs must not register anything"
    lanes = worker["lanes"]
    assert isinstance(lanes, dict)
    missing = sorted(kinds - set(lanes))
    assert not missing, f"enqueued but not in tandem.jobs.registry.register_all: {missing}"
    assert lanes["train_intent_model"] == TRAINING_LANE
    assert lanes["process_customer_message"] == DEFAULT_LANE
    periodic = worker["periodic"]
    assert isinstance(periodic, list)
    assert sorted(periodic) == sorted(timers), (
        "every module-level `periodic_*` function is a timer registered in "
        "tandem.jobs.registry.register_all (and only those are)"
    )
    assert worker["views"] == [], "a worker must not need a views module"
