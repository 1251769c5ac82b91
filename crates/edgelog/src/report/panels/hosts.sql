-- Hosts: each site's traffic, cache and errors.
-- query: top (top) Hosts
SELECT host, count(*) AS requests, sum(bytes) AS bytes,
  round(avg(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN 1.0 ELSE 0.0 END), 4) AS hit_ratio,
  round(avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END), 4) AS ratio_5xx
FROM logs GROUP BY host ORDER BY requests DESC, host LIMIT 20
