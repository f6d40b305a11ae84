-- Flags each moderator settled each day, and how many they found helpful.
SELECT f.HandledByModeratorId AS ModeratorId,
       CAST(f.HandledDate AS DATE) AS Day,
       count(*) AS FlagsHandled,
       count(*) FILTER (WHERE s.Name = 'Helpful') AS Helpful,
       count(*) FILTER (WHERE s.Name = 'Declined') AS Declined
FROM Flags AS f
JOIN FlagStatuses AS s ON s.Id = f.FlagStatusId
WHERE f.HandledByModeratorId IS NOT NULL
GROUP BY ModeratorId, Day
ORDER BY Day, ModeratorId;
