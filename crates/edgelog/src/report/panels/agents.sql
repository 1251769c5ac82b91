-- Agents: browsers, devices and bots (woothee), and the top user agents.
-- query: bots (top) Bots and humans
SELECT CASE WHEN ua_is_bot(user_agent) THEN 'bot' ELSE 'human' END AS kind, count(*) AS requests, sum(bytes) AS bytes
FROM logs GROUP BY 1 ORDER BY requests DESC, 1
-- query: families (top) Browsers and crawlers
SELECT coalesce(ua_family(user_agent), '(unknown)') AS family, coalesce(ua_device(user_agent), '(unknown)') AS device, count(*) AS requests
FROM logs GROUP BY 1, 2 ORDER BY requests DESC, 1, 2 LIMIT 15
-- query: os (top) Operating systems
SELECT coalesce(ua_os(user_agent), '(unknown)') AS os, count(*) AS requests
FROM logs GROUP BY 1 ORDER BY requests DESC, 1 LIMIT 10
-- query: top (top) Top user agents
SELECT user_agent, count(*) AS requests FROM logs GROUP BY user_agent ORDER BY requests DESC, user_agent LIMIT 20
