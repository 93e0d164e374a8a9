"""The trading center's service desk: complaints and requests with a Merkle-anchored change
log, the knowledge base and the announcements feed (docs/desk.md)."""
