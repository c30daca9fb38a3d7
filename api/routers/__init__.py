"""One thin router per domain; the logic lives in rag services."""
