-- lookup_coverage: coverage_t, which contract meters an event type when (pipeline/billing/scope.py).
--
-- Grain: one row per contract segment and event type its metrics read, with a flag m<k> per metric
-- of the run (true when metric k is in force there and reads that event type). A segment is the
-- contract's whole active range (the weighted_sum history, flagged with every metric its terms ever
-- use) or, segmented, a piece of it between changes of terms (the classification, through
-- sql/lookup_slots.sql). Rows in no particular order (every reader joins and groups them).
-- Inputs: segments_t (shape_idx = the segment's set of metrics), shapes_t (per set of metrics: its
-- event types and their flags). Slot: <flags> the flag columns, each after a comma.
SELECT s.customer_id, t.event_type, s.contract_id, s.active_from, s.active_to{{flags}}
FROM segments_t s
JOIN shapes_t t USING (shape_idx)
