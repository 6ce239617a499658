"""Payments: money received, allocated to issued invoices, and what customers still owe.

    tables.py    the payments tables (sql/ledger/payments_schema.sql), balances and credit from the ledger
    importer.py  `usagebill payments import`: read, check, allocate, commit in one transaction
    aging.py     `usagebill ar`: open balances per customer in aging buckets
"""
