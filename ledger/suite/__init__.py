"""The contract suite, one module per area: ``s<NN>_<area>.py`` exporting ``SPECS``."""
