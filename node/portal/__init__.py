"""The participant portal: one organisation's web pages over its own keystore
(``gridledger portal serve``). See docs/portal.md."""
