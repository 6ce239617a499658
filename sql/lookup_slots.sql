-- lookup_slots: slots_t, the segmented coverage cut at the billed periods' bounds, each piece with
-- its period_idx (null between billed periods): one range join gives an event its contract, metric
-- flags and period (pipeline/billing/scope.py).
--
-- Grain: one row per piece. A coverage row [active_from, active_to) with the contract's billed
-- periods that overlap it (disjoint, in time order) becomes: each such period [start_at, end_at),
-- the gaps before each of them, and the rest after the last (or the whole row when none overlaps).
-- Inputs: lookup_cov (sql/lookup_coverage.sql, segmented, with row_id), periods_t. Slot: <flags>.
WITH ov AS (
    SELECT c.row_id, c.active_from AS lo, p.start_at, p.end_at, p.period_idx,
           lag(p.end_at) OVER (PARTITION BY c.row_id ORDER BY p.start_at) AS prev_end
    FROM lookup_cov c
    JOIN periods_t p ON p.contract_id = c.contract_id AND p.end_at > c.active_from AND p.start_at < c.active_to
),
pieces AS (
    SELECT row_id, start_at AS piece_from, end_at AS piece_to, period_idx FROM ov
    UNION ALL
    SELECT row_id, coalesce(prev_end, lo), start_at, NULL FROM ov WHERE start_at > coalesce(prev_end, lo)
    UNION ALL
    SELECT c.row_id, coalesce(m.last_end, c.active_from), c.active_to, NULL
    FROM lookup_cov c
    LEFT JOIN (SELECT row_id, max(end_at) AS last_end FROM ov GROUP BY row_id) m USING (row_id)
    WHERE coalesce(m.last_end, c.active_from) < c.active_to
)
SELECT c.customer_id, c.event_type, c.contract_id, p.piece_from AS active_from, p.piece_to AS active_to{{flags}},
       p.period_idx
FROM pieces p
JOIN lookup_cov c USING (row_id)

