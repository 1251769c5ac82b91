-- Slow: the slowest paths, where the format logs request time.
-- query: by_path (top) Slowest paths (p95 request time)
SELECT path, count(*) AS requests,
  approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY request_time) AS request_time_p95,
  max(request_time) AS request_time_max
FROM logs WHERE request_time IS NOT NULL GROUP BY path ORDER BY request_time_p95 DESC, path LIMIT 20
