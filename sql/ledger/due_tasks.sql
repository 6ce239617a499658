-- The post-issue tasks still to run (pending or failed), oldest batch first, for the task names in $tasks
-- (a list). One row per batch and task: run_seq, task, status, attempts.
SELECT run_seq, task, status, attempts FROM post_issue_tasks
WHERE status <> 'done' AND list_contains($tasks, task)
ORDER BY run_seq, list_position($tasks, task)
