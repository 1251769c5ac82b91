-- Status: codes, classes, and classes over time.
-- query: codes (top) Status codes
SELECT status, count(*) AS requests, sum(bytes) AS bytes FROM logs GROUP BY status ORDER BY requests DESC, status LIMIT 20
-- query: over_time (series) Classes over time
SELECT date_bin(INTERVAL '1 minute', time) AS time,
  sum(CASE WHEN status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS s2xx,
  sum(CASE WHEN status BETWEEN 300 AND 399 THEN 1 ELSE 0 END) AS s3xx,
  sum(CASE WHEN status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS s4xx,
  sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS s5xx
FROM logs WHERE time IS NOT NULL GROUP BY 1 ORDER BY 1
