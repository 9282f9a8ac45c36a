-- Tasks by status: /metrics counts the open tasks (those waiting on callbacks) every few seconds, and the
-- tasks table keeps every closed task too. A plain index, not a partial one: queries carry the status as a
-- parameter (no SQL file spells a status), which a partial index's predicate could not match.
CREATE INDEX tasks_status ON tasks (status);
