-- price_volume: the volume rule of pipeline/rate/volume.py over many rows at once, exact: every unit
-- at the unit price of the one tier the quantity falls in, plus that tier's flat_fee.
-- A tier k holds q when q is above its lower bound (at or above, for the first) and at most its up_to
-- (none: unbounded); the first tier that holds q wins, and a q no tier holds (below 0: a falling
-- weighted level) prices at the first tier.
-- Inputs: <rows> (row_id, charge_key, quantity, event_amount), <params> (charge_key, k, lower, up_to,
-- unit_price, flat_fee: tiers.tiers_table).
WITH picked AS (
    SELECT r.row_id, r.charge_key, r.quantity,
           coalesce(min(t.k) FILTER (WHERE (CASE WHEN t.k = 0 THEN r.quantity >= t.lower ELSE r.quantity > t.lower END)
                                           AND (t.up_to IS NULL OR r.quantity <= t.up_to)), 0) AS k
    FROM {{rows}} r
    JOIN {{params}} t USING (charge_key)
    GROUP BY ALL
)
SELECT p.row_id, p.quantity * t.unit_price + t.flat_fee AS exact, t.unit_price
FROM picked p
JOIN {{params}} t ON t.charge_key = p.charge_key AND t.k = p.k
