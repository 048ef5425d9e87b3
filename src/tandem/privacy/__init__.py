"""Payment and personal data: one place that finds it (`detect`) and one that masks it (`mask`)."""
