-- assemble_usage_prices: each distinct usage row's amount, unit price and line head, priced by its
-- charge's model (pipeline/rate/columns.py): the amount rounded once, half away from zero, to the
-- currency's digits (core/money.py round_money); the head "label: quantity unit", the quantity as
-- people read it (core/money.py show_quantity: whole numbers as they are, 2 places from 1 up, 3
-- significant digits below 1, half away from zero, trailing zeros dropped).
--
-- Grain: one row per row of price_rows_t, in row_id order.
-- Inputs: price_rows_t (row_id, charge_key, model, digits 0 to 4, quantity DECIMAL(38, 9),
-- event_amount), heads_t (charge_key, prefix "label: ", suffix " unit").
-- Slots: <branches> one SELECT per model giving row_id, amount (round_money of its exact amount:
-- sql/price_round_money.sql), unit_price (sql/price_<model>.sql).
WITH rounded AS (  -- each model's exact amounts rounded in its own branch (their types differ)
{{branches}}
),
shown AS (
    SELECT row_id, charge_key,
           CASE WHEN quantity = trunc(quantity) THEN CAST(CAST(quantity AS HUGEINT) AS VARCHAR)
                ELSE rtrim(rtrim(CAST(
                    CASE WHEN abs(quantity) >= 1 THEN CAST(round(quantity, 2) AS DECIMAL(38, 9))
                         -- below 1: the digits of its 9 places say where its 3 significant digits end (each branch
                         -- cast back to 9 places: a CASE takes its first branch's DECIMAL type)
                         ELSE CASE length(CAST(CAST(abs(quantity) * 1000000000 AS BIGINT) AS VARCHAR))
                                  WHEN 9 THEN CAST(round(quantity, 3) AS DECIMAL(38, 9)) WHEN 8 THEN CAST(round(quantity, 4) AS DECIMAL(38, 9))
                                  WHEN 7 THEN CAST(round(quantity, 5) AS DECIMAL(38, 9)) WHEN 6 THEN CAST(round(quantity, 6) AS DECIMAL(38, 9))
                                  WHEN 5 THEN CAST(round(quantity, 7) AS DECIMAL(38, 9)) WHEN 4 THEN CAST(round(quantity, 8) AS DECIMAL(38, 9))
                                  ELSE quantity END
                    END AS VARCHAR), '0'), '.') END AS quantity_text
    FROM price_rows_t
)
SELECT d.amount, d.unit_price, h.prefix || s.quantity_text || h.suffix AS head
FROM rounded d
JOIN shown s USING (row_id)
JOIN heads_t h USING (charge_key)
ORDER BY d.row_id
