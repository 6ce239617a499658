-- One run of a post-issue task finished (pipeline/tasks.py). Parameters: $run_seq, $task, $status (done |
-- failed), $at, $detail.
UPDATE post_issue_tasks SET status = $status, attempts = attempts + 1, updated_at = $at, detail = $detail
WHERE run_seq = $run_seq AND task = $task
