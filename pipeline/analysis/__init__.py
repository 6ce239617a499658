"""Analysis: why an amount is what it is; reads the workspace and the ledger, writes nothing.

    explain.py          one invoice explained: resolve it, re-rate its period, compare with the ledger
    explain_events.py   the first events of a line, and how a percentage charge priced each
    explain_pricing.py  a line priced again by its own rule with detail (pipeline/rate/)
    explain_text.py     explain's text and JSON forms
    terms_timeline.py   a contract's terms over time (usagebill terms)
"""
