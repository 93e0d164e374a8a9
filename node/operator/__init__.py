"""The market operator's set-up commands (``gridledger operator``)."""
