"""Analysis: why an amount is what it is (explain*.py) and a contract's terms over time
(terms_timeline.py). Reads the workspace and the ledger; writes nothing."""
