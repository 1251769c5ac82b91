-- Clients: top addresses and networks (/24 for IPv4, /48 for IPv6).
-- query: by_ip (top) Top clients
SELECT client_ip, count(*) AS requests, sum(bytes) AS bytes FROM logs GROUP BY client_ip ORDER BY requests DESC, client_ip LIMIT 20
-- query: by_network (top) Top networks
SELECT ip_prefix(client_ip, CASE WHEN ip_version(client_ip) = 6 THEN 48 ELSE 24 END) AS network, count(*) AS requests, sum(bytes) AS bytes
FROM logs GROUP BY 1 ORDER BY requests DESC, 1 LIMIT 20
