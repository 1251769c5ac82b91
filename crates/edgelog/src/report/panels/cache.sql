-- Cache: status mix, hit ratio by host and for the top paths, bytes served from cache.
-- query: mix (top) Cache status
SELECT coalesce(cache_status, '-') AS cache_status, count(*) AS requests, sum(bytes) AS bytes
FROM logs GROUP BY 1 ORDER BY requests DESC, 1 LIMIT 20
-- query: by_host (top) Hit ratio by host
SELECT host, count(*) AS requests,
  round(avg(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN 1.0 ELSE 0.0 END), 4) AS hit_ratio,
  sum(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN bytes ELSE 0 END) AS bytes_from_cache
FROM logs GROUP BY host ORDER BY requests DESC, host LIMIT 20
-- query: by_path (top) Hit ratio of the top paths
SELECT path, count(*) AS requests,
  round(avg(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN 1.0 ELSE 0.0 END), 4) AS hit_ratio
FROM logs GROUP BY path ORDER BY requests DESC, path LIMIT 20
