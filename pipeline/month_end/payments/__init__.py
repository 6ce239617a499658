"""Payments: money received, allocated to issued invoices, and what customers still owe.

    importer.py  `usagebill payments import`: read, check, allocate, commit in one ledger transaction
    aging.py     `usagebill ar`: open balances per customer in aging buckets

The payments tables and balances are the ledger's (pipeline/ledger/payments.py).
"""
