"""The learning loop: what humans resolve teaches the AI."""
