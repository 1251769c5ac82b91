-- Errors: the latest 5xx responses.
-- query: latest (top) Latest 5xx
SELECT time, status, method, path, client_ip, request_id FROM logs WHERE status >= 500 ORDER BY time DESC, request_id LIMIT 20
