-- The users most harassed in comments (ground truth), with how many harassers and removals.
SELECT p.OwnerUserId AS TargetUserId,
       count(*) AS HarassingComments,
       count(DISTINCT c.UserId) AS Harassers,
       count(c.DeletionDate) AS Removed
FROM CommentsWithDeleted AS c
JOIN GroundTruth AS g ON g.CommentId = c.Id
JOIN HarmTypes AS h ON h.Id = g.HarmTypeId
JOIN PostsWithDeleted AS p ON p.Id = c.PostId
WHERE h.Name = 'Harassment' AND p.OwnerUserId IS NOT NULL
GROUP BY TargetUserId
ORDER BY HarassingComments DESC, TargetUserId
LIMIT 20;
