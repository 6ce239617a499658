-- price_graduated: the graduated rule of pipeline/rate/graduated.py over many rows at once, exact: the
-- sum over the tiers the quantity reaches (the first always, tier k when q is above its lower bound)
-- of the units in the tier x its unit_price + its flat_fee; no single unit price.
-- Inputs: <rows> (row_id, charge_key, quantity, event_amount), <params> (charge_key, k, lower, up_to,
-- unit_price, flat_fee: tiers.tiers_table).
SELECT r.row_id,
       sum(greatest(least(r.quantity, coalesce(t.up_to, r.quantity)) - t.lower, 0) * t.unit_price
           + t.flat_fee) AS exact,
       CAST(NULL AS DECIMAL(38, 12)) AS unit_price
FROM {{rows}} r
JOIN {{params}} t USING (charge_key)
WHERE t.k = 0 OR r.quantity > t.lower
GROUP BY r.row_id
