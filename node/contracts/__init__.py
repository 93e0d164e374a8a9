"""Bilateral contracts, the participant's side: negotiation, signing, execution, tracking."""
