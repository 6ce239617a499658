-- assemble_group_ranks: group_key_t, each distinct group of a charge's metric with its group_key
-- and group_rank, its place among the charge's groups by (group_key, group_values): a charge's
-- usage lines are ordered by it (pipeline/billing/assemble.py), so the big sorts compare integers.
SELECT charge_key, group_values, group_key,
       row_number() OVER (PARTITION BY charge_key ORDER BY group_key, group_values) AS group_rank
FROM group_keys_raw
