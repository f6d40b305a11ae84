-- Closures by close reason and month, from PostHistory (the reason id is in Comment, as in the dump).
SELECT date_trunc('month', h.CreationDate) AS Month,
       r.Name AS CloseReason,
       count(*) AS Closures
FROM PostHistory AS h
JOIN CloseReasonTypes AS r ON r.Id = CAST(h.Comment AS INTEGER)
WHERE h.PostHistoryTypeId = 10
GROUP BY Month, CloseReason
ORDER BY Month, Closures DESC, CloseReason;
