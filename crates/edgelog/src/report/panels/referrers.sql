-- Referrers: where visitors come from.
-- query: top (top) Top referrers
SELECT referer, count(*) AS requests FROM logs WHERE referer IS NOT NULL GROUP BY referer ORDER BY requests DESC, referer LIMIT 20
