-- price_round_money: round_money(exact, digits), the rule of pipeline/core/money.py round_money in
-- SQL: once, half away from zero (DuckDB's round of a DECIMAL), to 0 to 4 digits, as DECIMAL(38, 4).
-- A macro, so that each call keeps its argument's own DECIMAL type (a product of 21 places, a sum of 9).
CREATE OR REPLACE TEMP MACRO round_money(exact, digits) AS
    CASE digits WHEN 0 THEN CAST(round(exact, 0) AS DECIMAL(38, 4))
                WHEN 1 THEN CAST(round(exact, 1) AS DECIMAL(38, 4))
                WHEN 2 THEN CAST(round(exact, 2) AS DECIMAL(38, 4))
                WHEN 3 THEN CAST(round(exact, 3) AS DECIMAL(38, 4))
                WHEN 4 THEN CAST(round(exact, 4) AS DECIMAL(38, 4)) END
