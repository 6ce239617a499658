-- lookup_slots: slots_t, the segmented coverage cut at the billed periods' bounds, each piece with
-- its period_idx (null between billed periods): one range join gives an event its contract, metric
-- flags and period (pipeline/billing/scope.py).
--
-- Grain: one row per piece and event type. A segment [active_from, active_to) with the contract's
-- billed periods that overlap it (disjoint, in time order) becomes: each such period [start_at,
-- end_at), the gaps before each of them, and the rest after the last (or the whole segment when none
-- overlaps); each piece then takes the event types and flags of the segment's metrics, as
-- sql/lookup_coverage.sql gives them (the cut is made once per segment, not per event type).
-- Inputs: segments_t (segmented, seq = its row), shapes_t, periods_t. Slot: <flags>.
WITH ov AS (
    SELECT s.seq, s.active_from AS lo, p.start_at, p.end_at, p.period_idx,
           lag(p.end_at) OVER (PARTITION BY s.seq ORDER BY p.start_at) AS prev_end
    FROM segments_t s
    JOIN periods_t p ON p.contract_id = s.contract_id AND p.end_at > s.active_from AND p.start_at < s.active_to
),
pieces AS (
    SELECT seq, start_at AS piece_from, end_at AS piece_to, period_idx FROM ov
    UNION ALL
    SELECT seq, coalesce(prev_end, lo), start_at, NULL FROM ov WHERE start_at > coalesce(prev_end, lo)
    UNION ALL
    SELECT s.seq, coalesce(m.last_end, s.active_from), s.active_to, NULL
    FROM segments_t s
    LEFT JOIN (SELECT seq, max(end_at) AS last_end FROM ov GROUP BY seq) m USING (seq)
    WHERE coalesce(m.last_end, s.active_from) < s.active_to
)
SELECT s.customer_id, t.event_type, s.contract_id, p.piece_from AS active_from, p.piece_to AS active_to{{flags}},
       p.period_idx
FROM pieces p
JOIN segments_t s USING (seq)
JOIN shapes_t t USING (shape_idx)
