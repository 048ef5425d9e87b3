"""Every job handler and periodic task Tandem runs, registered in this one place.

Handler modules define plain functions and register nothing when they are imported. The app
(`create_app`) and every worker (`Worker`, in the web process or in a process of its own) call
`register_all()`, so both know the same kinds, lanes and timers whatever was imported before.
`tests/architecture/test_jobs_registry.py` checks that every job kind the code enqueues and every
`periodic_*` task is registered here, in a fresh interpreter.
"""

from __future__ import annotations

from functools import cache


@cache
def register_all() -> None:
    """Register Tandem's job handlers and periodic tasks (once per process; idempotent)."""
    # Imported here rather than at module level: the handlers import the services that enqueue
    # jobs, and those import tandem.jobs.
    from tandem.copilot.cases import record_resolved_case
    from tandem.jobs.service import TRAINING_LANE, register, register_long_running
    from tandem.jobs.worker import register_periodic
    from tandem.learning.schedule import (
        CONSIDER_JOB,
        RETRAIN_CHECK_SECONDS,
        consider_retraining,
        periodic_retrain_check,
    )
    from tandem.routing.timers import CHECK_EVERY_SECONDS, periodic_sla_check
    from tandem.triage.flows import process_customer_message
    from tandem.triage.training import TRAIN_JOB, run_training_job

    # Jobs: kind -> handler (run in one transaction the worker opens) ...
    register("process_customer_message")(process_customer_message)
    register("conversation_resolved")(record_resolved_case)
    register(CONSIDER_JOB)(consider_retraining)
    # ... or a long-running handler that opens its own short transactions, in its own lane.
    register_long_running(TRAIN_JOB, lane=TRAINING_LANE)(run_training_job)
    # Periodic tasks: every worker that runs timers runs these (each must be idempotent).
    register_periodic(CHECK_EVERY_SECONDS, periodic_sla_check)
    register_periodic(RETRAIN_CHECK_SECONDS, periodic_retrain_check)
