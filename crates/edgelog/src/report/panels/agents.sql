-- Agents: top user agents, bots against humans.
-- query: bots (top) Bots and humans
SELECT CASE WHEN ua_is_bot(user_agent) THEN 'bot' ELSE 'human' END AS kind, count(*) AS requests, sum(bytes) AS bytes
FROM logs GROUP BY 1 ORDER BY requests DESC, 1
-- query: top (top) Top user agents
SELECT user_agent, count(*) AS requests FROM logs GROUP BY user_agent ORDER BY requests DESC, user_agent LIMIT 20
