-- price_per_unit: the per_unit rule of pipeline/rate/per_unit.py over many rows at once, exact:
-- max(quantity - free_units, 0) x unit_price, and that unit price.
-- Inputs: <rows> (row_id, charge_key, quantity, event_amount), <params> (charge_key, unit_price,
-- free_units: per_unit.params_table).
SELECT r.row_id, greatest(r.quantity - p.free_units, 0) * p.unit_price AS exact, p.unit_price
FROM {{rows}} r
JOIN {{params}} p USING (charge_key)
