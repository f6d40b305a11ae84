-- Newcomers (accounts created during the run) whose first post was a question that was closed,
-- and who never posted or commented again.
WITH firsts AS (
    SELECT OwnerUserId AS UserId, arg_min(Id, CreationDate) AS PostId, min(CreationDate) AS FirstPostDate
    FROM PostsWithDeleted
    WHERE OwnerUserId IS NOT NULL
    GROUP BY OwnerUserId
), closed_first AS (
    SELECT f.*
    FROM firsts AS f
    JOIN PostsWithDeleted AS p ON p.Id = f.PostId
    JOIN Users AS u ON u.Id = f.UserId
    WHERE p.PostTypeId = 1
      AND u.CreationDate >= (SELECT min(CreationDate) FROM PostsWithDeleted)
      AND EXISTS (SELECT 1 FROM PostHistory AS h WHERE h.PostId = f.PostId AND h.PostHistoryTypeId = 10)
)
SELECT c.UserId, c.PostId AS FirstQuestionId, c.FirstPostDate
FROM closed_first AS c
WHERE NOT EXISTS (SELECT 1 FROM PostsWithDeleted AS p WHERE p.OwnerUserId = c.UserId AND p.CreationDate > c.FirstPostDate)
  AND NOT EXISTS (SELECT 1 FROM CommentsWithDeleted AS m WHERE m.UserId = c.UserId AND m.CreationDate > c.FirstPostDate)
ORDER BY c.FirstPostDate, c.UserId;
