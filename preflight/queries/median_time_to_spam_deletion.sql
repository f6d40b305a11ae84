-- Median time from posting to deletion of spam posts, by the day they were posted (ground truth
-- says which posts are spam; posts never deleted are counted in SpamPosts but have no time).
SELECT CAST(p.CreationDate AS DATE) AS Day,
       count(*) AS SpamPosts,
       count(p.DeletionDate) AS SpamPostsDeleted,
       median(date_diff('minute', p.CreationDate, p.DeletionDate)) AS MedianMinutesToDeletion
FROM PostsWithDeleted AS p
JOIN GroundTruth AS g ON g.PostId = p.Id
JOIN HarmTypes AS h ON h.Id = g.HarmTypeId
WHERE h.Name = 'Spam'
GROUP BY Day
ORDER BY Day;
