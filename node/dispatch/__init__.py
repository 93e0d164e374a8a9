"""The dispatch center's settlement inputs (``gridledger dispatch``)."""
