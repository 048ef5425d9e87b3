"""Routing: queues with skills, priority, assignment, SLA timers and business hours."""
