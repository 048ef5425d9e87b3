"""The agent's co-pilot: suggested replies, compliance flags on drafts, next best action."""
