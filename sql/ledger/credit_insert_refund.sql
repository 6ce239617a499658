-- One refund of customer credit: reference, customer, currency, amount, date, recorded at.
INSERT INTO credit_refunds VALUES ($ref, $c, $cur, $a, $d, $at)
