"""The participant's notification centre (docs/notifications.md)."""
