-- Paths: top by requests, bytes, cache misses and 5xx.
-- query: by_requests (top) By requests
SELECT path, count(*) AS requests, sum(bytes) AS bytes FROM logs GROUP BY path ORDER BY requests DESC, path LIMIT 20
-- query: by_bytes (top) By bytes
SELECT path, sum(bytes) AS bytes, count(*) AS requests FROM logs GROUP BY path ORDER BY bytes DESC NULLS LAST, path LIMIT 20
-- query: by_misses (top) By cache misses
SELECT path, count(*) AS misses FROM logs WHERE upper(cache_status) LIKE '%MISS%' GROUP BY path ORDER BY misses DESC, path LIMIT 20
-- query: by_5xx (top) By 5xx
SELECT path, count(*) AS errors_5xx FROM logs WHERE status >= 500 GROUP BY path ORDER BY errors_5xx DESC, path LIMIT 20
