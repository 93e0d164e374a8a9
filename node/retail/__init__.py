"""The retail layer's participant side: packages, bindings, issued bills, the retailer
report and ``gridledger retail`` (docs/retail.md)."""
