"""The workspace: its configuration files, loaded and checked at once (every problem named).

    workspace.py  load_workspace: customers, contracts, tax rates, the pricebook, terms, settings
    tables.py     CSV/Parquet tables: columns, misspelled names, typed cells by row
    textfile.py   text files read as strict UTF-8
    yamlsafe.py   YAML with exact decimals, no duplicate keys, bounded aliases
    pricebook.py  pricebook.yaml: company, metrics, plans and their charges (models in pipeline/rate/)
    changes.py    plan versions and contract entries: dated changes of charges, discount, commitment
    terms.py      the terms in force for a contract on a day (plan, versions, contract entries)
    one_time.py   one_time_charges.csv/.parquet: dated charges of a contract
    settings.py   settings.yaml: billed_through, the events location, PDF options
"""
