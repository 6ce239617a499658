-- Every recorded post-issue task, by batch and task: run_seq, task, status, attempts, updated_at, detail.
SELECT run_seq, task, status, attempts, updated_at, detail FROM post_issue_tasks ORDER BY run_seq, task
