-- assemble_distinct: the distinct sets of figures some rows are priced from (pipeline/billing/assemble.py
-- prices each set once and joins the result back on the same columns), with the first period that
-- holds each set, to name it in an error.
-- Slots: <keys> the columns, <source> the table and the rows of it that are priced.
SELECT {{keys}}, min(period_idx) AS first_period
FROM {{source}}
GROUP BY ALL
ORDER BY ALL
