-- Traffic: requests, bytes and errors over time.
-- query: over_time (series) Over time
SELECT date_bin(INTERVAL '1 minute', time) AS time,
  count(*) AS requests,
  sum(bytes) AS bytes,
  sum(CASE WHEN status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS errors_4xx,
  sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors_5xx
FROM logs WHERE time IS NOT NULL GROUP BY 1 ORDER BY 1
