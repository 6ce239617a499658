-- price_package: the package rule of pipeline/rate/package.py over many rows at once, exact:
-- ceil(max(quantity - free_units, 0) / package_size) packages x package_price; no single unit price.
-- The packages are counted in whole numbers: both sides of the division as integers of units of
-- 10^-S (unit_scale = 10^S, size_units = package_size x 10^S: package.params_table), so the
-- quotient is never a float.
-- Inputs: <rows> (row_id, charge_key, quantity, event_amount), <params> (charge_key, free_units,
-- package_price, size_units, unit_scale).
WITH billable AS (
    SELECT r.row_id, CAST(greatest(r.quantity - p.free_units, 0) * p.unit_scale AS HUGEINT) AS units,
           CAST(p.size_units AS HUGEINT) AS size_units, p.package_price
    FROM {{rows}} r
    JOIN {{params}} p USING (charge_key)
)
SELECT row_id, CAST((units + size_units - 1) // size_units AS DECIMAL(38, 0)) * package_price AS exact,
       CAST(NULL AS DECIMAL(38, 12)) AS unit_price
FROM billable
