"""usagebill: batch rating and invoicing for usage-based billing.

The billing chain, one module per stage:

    workspace (config + events) -> ingest -> meter -> rate -> invoice -> emit
"""

__version__ = "0.1.0"
