-- Reviewers who fail review audits (known-good or known-bad test items), worst first: robo-reviewers
-- approve everything, and failed audits lead to review bans.
SELECT r.UserId,
       count(*) AS Audits,
       count(*) FILTER (WHERE NOT r.AuditPassed) AS Failed,
       round(avg(CASE WHEN r.AuditPassed THEN 0 ELSE 1 END), 3) AS FailedShare,
       string_agg(DISTINCT r.Queue, ', ') AS Queues
FROM ReviewTaskResults AS r
WHERE r.IsAudit
GROUP BY r.UserId
HAVING count(*) FILTER (WHERE NOT r.AuditPassed) > 0
ORDER BY Failed DESC, FailedShare DESC, r.UserId
LIMIT 50;
