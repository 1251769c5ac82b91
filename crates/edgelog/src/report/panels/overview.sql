-- Overview: the figures of the whole range.
-- query: figures (figures) Figures
SELECT
  count(*) AS requests,
  count(DISTINCT client_ip) AS unique_clients,
  sum(bytes) AS bytes,
  round(count(*) / greatest(date_part('epoch', max(time)) - date_part('epoch', min(time)) + 1, 1), 4) AS requests_per_s_avg,
  round(avg(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN 1.0 ELSE 0.0 END), 4) AS hit_ratio_requests,
  round(CAST(sum(CASE WHEN upper(cache_status) LIKE '%HIT%' THEN bytes ELSE 0 END) AS DOUBLE) / greatest(sum(bytes), 1), 4) AS hit_ratio_bytes,
  round(avg(CASE WHEN status BETWEEN 400 AND 499 THEN 1.0 ELSE 0.0 END), 4) AS ratio_4xx,
  round(avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END), 4) AS ratio_5xx,
  approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes) AS bytes_p50,
  approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY bytes) AS bytes_p95,
  approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY bytes) AS bytes_p99,
  approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY request_time) AS request_time_p50,
  approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY request_time) AS request_time_p95,
  approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY request_time) AS request_time_p99,
  min(time) AS first_time,
  max(time) AS last_time
FROM logs
-- query: peak (figures) Peak
SELECT max(n) AS requests_per_s_peak
FROM (SELECT date_trunc('second', time) AS s, count(*) AS n FROM logs GROUP BY 1)
