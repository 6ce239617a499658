-- lookup_timeline: timeline_t, every considered customer's whole time line as disjoint ranges,
-- `active` when some contract of theirs is (pipeline/billing/scope.py): one range join answers
-- both "known customer?" and "active contract?".
--
-- Grain: one row per range. The contracts' active ranges (ranges_t, every contract) are merged per
-- customer where they overlap or touch; the gaps before, between and after them are inactive,
-- from $beginning to $forever. A customer with no contract has one inactive range.
-- Inputs: ranges_t (customer_id, lo, hi), customers_t (the customers the run considers).
WITH marked AS (
    SELECT customer_id, lo, hi,
           CASE WHEN lo <= max(hi) OVER (PARTITION BY customer_id ORDER BY lo, hi
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS new
    FROM ranges_t
    WHERE customer_id IN (SELECT customer_id FROM customers_t)
),
numbered AS (
    SELECT *, sum(new) OVER (PARTITION BY customer_id ORDER BY lo, hi ROWS UNBOUNDED PRECEDING) AS island
    FROM marked
),
islands AS (
    SELECT customer_id, min(lo) AS lo, max(hi) AS hi FROM numbered GROUP BY customer_id, island
),
ordered AS (
    SELECT *, coalesce(lag(hi) OVER (PARTITION BY customer_id ORDER BY lo), $beginning) AS prev FROM islands
),
ranges AS (
    SELECT customer_id, prev AS range_from, lo AS range_to, false AS active FROM ordered WHERE lo > prev
    UNION ALL
    SELECT customer_id, lo, hi, true FROM ordered
    UNION ALL
    SELECT c.customer_id, coalesce(m.last_hi, $beginning), $forever, false
    FROM customers_t c
    LEFT JOIN (SELECT customer_id, max(hi) AS last_hi FROM islands GROUP BY customer_id) m USING (customer_id)
    WHERE coalesce(m.last_hi, $beginning) < $forever
)
SELECT customer_id, range_from, range_to, active FROM ranges ORDER BY customer_id, range_from, range_to
