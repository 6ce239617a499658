-- A batch's post-issue tasks, pending (pipeline/tasks.py), once: a task already recorded for the batch is kept
-- as it is. Registered table new_tasks_t(run_seq, task); parameters: $at.
INSERT INTO post_issue_tasks
SELECT n.run_seq, n.task, 'pending', 0, $at, NULL FROM new_tasks_t n
WHERE NOT EXISTS (SELECT 1 FROM post_issue_tasks t WHERE t.run_seq = n.run_seq AND t.task = n.task)
