-- The stores' statements on PostgreSQL (run by postgres_sql_check.sh after the schema):
-- each one as the store sends it, ?N written as $N, prepared without parameter types
-- (the server infers them, as for libpq's PQprepare with no types), executed with sample
-- values, with assertions on what the stores rely on. Kept in step with storage/*.cpp by
-- hand until the store suite runs on both engines.
\set ON_ERROR_STOP 1

-- ---------------------------------------------------------------- namespace_store.cpp
PREPARE ns_insert AS INSERT INTO namespaces(id, name, description, is_main, trigger, requires_trigger,
  container_config, instructions_file, created_at, updated_at, agent_config, instructions)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11);
PREPARE ns_count AS SELECT count(*) FROM namespaces;
EXECUTE ns_count;
EXECUTE ns_insert('n-main', 'main', '', 1, '', 1, '{}', '', 1000, '{}', '');
PREPARE ns_unset_main AS UPDATE namespaces SET is_main = 0, updated_at = $1 WHERE is_main = 1;
EXECUTE ns_unset_main(1001);
EXECUTE ns_insert('n-ops', 'Ops', 'ops team', 1, '@ops', 0, '{"memory":"1g"}', 'AGENTS.md', 1002, '{}', 'be brief');
EXECUTE ns_insert('n-b', 'beta', '', 0, '', 1, '{}', '', 1003, '{}', '');
PREPARE ns_select AS SELECT id, name, description, is_main, trigger, requires_trigger, container_config,
  instructions_file, created_at, updated_at, agent_config, instructions FROM namespaces WHERE id = $1;
EXECUTE ns_select('n-ops');
PREPARE ns_by_name AS SELECT id, name, description, is_main, trigger, requires_trigger, container_config,
  instructions_file, created_at, updated_at, agent_config, instructions FROM namespaces WHERE name = $1;
EXECUTE ns_by_name('main');
PREPARE ns_list AS SELECT id, name FROM namespaces ORDER BY created_at, name;
EXECUTE ns_list;
PREPARE ns_update AS UPDATE namespaces SET name = $2, description = $3, is_main = $4, trigger = $5,
  requires_trigger = $6, container_config = $7, instructions_file = $8, updated_at = $9,
  agent_config = $10, instructions = $11 WHERE id = $1;
EXECUTE ns_update('n-b', 'beta', 'second', 0, '', 1, '{}', '', 1004, '{"model":"x"}', '');
PREPARE map_current AS SELECT namespace_id, created_at FROM chat_mappings WHERE jid = $1;
PREPARE map_insert AS INSERT INTO chat_mappings(jid, namespace_id, created_at) VALUES ($1, $2, $3);
PREPARE map_update AS UPDATE chat_mappings SET namespace_id = $2, created_at = $3 WHERE jid = $1;
PREPARE map_delete AS DELETE FROM chat_mappings WHERE jid = $1;
EXECUTE map_current('tg:1');
EXECUTE map_insert('tg:1', 'n-main', 2000);
EXECUTE map_insert('slack:C1', 'n-ops', 2001);
EXECUTE map_insert('Z:upper', 'n-ops', 2002);
EXECUTE map_insert('a:lower', 'n-ops', 2003);
EXECUTE map_update('tg:1', 'n-b', 2004);
PREPARE map_jids AS SELECT jid FROM chat_mappings WHERE namespace_id = $1 ORDER BY jid;
PREPARE map_list AS SELECT m.jid, m.namespace_id, n.name, m.created_at FROM chat_mappings m
  JOIN namespaces n ON n.id = m.namespace_id WHERE m.namespace_id = $1 ORDER BY m.jid;
EXECUTE map_list('n-ops');
DO $$ BEGIN
  -- COLLATE "C": byte order like SQLite's BINARY ('Z' sorts before 'a', ':' before letters).
  ASSERT (SELECT string_agg(jid, ' ' ORDER BY jid) FROM chat_mappings WHERE namespace_id = 'n-ops')
         = 'Z:upper a:lower slack:C1', 'jid order is not byte order';
  ASSERT (SELECT string_agg(name, ' ' ORDER BY name) FROM namespaces) = 'Ops beta main', 'name order';
END $$;
PREPARE map_one AS SELECT m.jid, m.namespace_id, n.name, m.created_at FROM chat_mappings m
  JOIN namespaces n ON n.id = m.namespace_id WHERE m.jid = $1;
EXECUTE map_one('tg:1');
EXECUTE map_delete('a:lower');
PREPARE allow_upsert AS INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT(channel, bot) DO UPDATE SET mode = excluded.mode, senders = excluded.senders,
  updated_at = excluded.updated_at;
EXECUTE allow_upsert('slack', 'main', 'list', '["U1"]', 3000);
EXECUTE allow_upsert('slack', 'main', 'everyone', '[]', 3001);
PREPARE allow_one AS SELECT mode, senders, updated_at FROM sender_allowlists WHERE channel = $1 AND bot = $2;
EXECUTE allow_one('slack', 'main');
SELECT channel, bot, mode, senders, updated_at FROM sender_allowlists ORDER BY channel, bot;
PREPARE routing_upsert AS INSERT INTO routing_settings(key, value) VALUES ($1, $2)
  ON CONFLICT(key) DO UPDATE SET value = excluded.value;
EXECUTE routing_upsert('default_policy', 'namespace');
EXECUTE routing_upsert('default_namespace_id', 'n-ops');
EXECUTE routing_upsert('default_namespace_id', 'n-main');
SELECT key, value FROM routing_settings;
DO $$ BEGIN
  ASSERT (SELECT mode FROM sender_allowlists WHERE channel = 'slack' AND bot = 'main') = 'everyone';
  ASSERT (SELECT value FROM routing_settings WHERE key = 'default_namespace_id') = 'n-main';
  -- The trigger gave every namespace a slot, from 1, in creation order.
  ASSERT (SELECT string_agg(namespace_id || '=' || slot, ' ' ORDER BY slot) FROM namespace_id_ranges)
         = 'n-main=1 n-ops=2 n-b=3', 'id range slots';
END $$;

-- ---------------------------------------------------------------- namespace_rows.cpp
PREPARE cursor_upsert AS INSERT INTO namespace_cursors(namespace_id, last_inbound_id) VALUES($1, $2)
  ON CONFLICT(namespace_id) DO UPDATE SET last_inbound_id = CASE
  WHEN excluded.last_inbound_id > namespace_cursors.last_inbound_id THEN excluded.last_inbound_id
  ELSE namespace_cursors.last_inbound_id END;
EXECUTE cursor_upsert('n-ops', 5);
EXECUTE cursor_upsert('n-ops', 9);
EXECUTE cursor_upsert('n-ops', 7);
DO $$ BEGIN
  ASSERT (SELECT last_inbound_id FROM namespace_cursors WHERE namespace_id = 'n-ops') = 9, 'cursor moved back';
END $$;
PREPARE read_ns AS SELECT n.id, n.name, n.is_main, n.container_config, COALESCE(c.last_inbound_id, 0) FROM namespaces n
  LEFT JOIN namespace_cursors c ON c.namespace_id = n.id WHERE n.id = $1;
EXECUTE read_ns('n-ops');
SELECT id FROM namespaces;
PREPARE chat_owner AS SELECT n.name FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE m.jid = $1;
EXECUTE chat_owner('slack:C1');
PREPARE slot AS SELECT r.slot FROM namespace_id_ranges r JOIN namespaces n ON n.id = r.namespace_id WHERE n.name = $1;
EXECUTE slot('beta');
PREPARE agent AS SELECT agent_config, instructions, instructions_file FROM namespaces WHERE name = $1;
EXECUTE agent('Ops');
PREPARE chats_of AS SELECT m.jid FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE n.name = $1
  ORDER BY m.jid;
EXECUTE chats_of('Ops');
PREPARE ns_ref AS SELECT id, name FROM namespaces WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1;
EXECUTE ns_ref('beta');
EXECUTE ns_ref('n-b');

-- ---------------------------------------------------------------- routing_rows.cpp
BEGIN;
SELECT id, name, is_main, trigger, requires_trigger FROM namespaces ORDER BY name;
SELECT jid, namespace_id FROM chat_mappings ORDER BY jid;
SELECT channel, bot, mode, senders FROM sender_allowlists ORDER BY channel, bot;
SELECT key, value FROM routing_settings;
COMMIT;

-- ---------------------------------------------------------------- inbound_store.cpp
PREPARE inbound_insert AS INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, sender, sender_name,
  text, reply_ref, message_ref, sent_at, is_group, mentions_bot, received_at)
  VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  ON CONFLICT(channel, bot, platform_message_id) DO NOTHING RETURNING id;
CREATE TEMP TABLE returned(op text, id bigint);
WITH r AS (INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, sender, sender_name, text,
  reply_ref, message_ref, sent_at, is_group, mentions_bot, received_at)
  VALUES('slack', 'main', 'Ev1', 'slack:C1', 'U1', 'Ann', 'hello', '', '', 1, 0, 1, 5000)
  ON CONFLICT(channel, bot, platform_message_id) DO NOTHING RETURNING id)
  INSERT INTO returned SELECT 'first', id FROM r;
EXECUTE inbound_insert('slack', 'main', 'Ev1', 'slack:C1', 'U1', 'Ann', 'again', '', '', 1, 0, 1, 5001);
EXECUTE inbound_insert('slack', 'main', 'Ev2', 'slack:C1', 'U1', 'Ann', 'two', '', '', 2, 1, 0, 5002);
EXECUTE inbound_insert('telegram', 'bot', '77', 'tg:1', '9', 'Bo', 'three', '', '', 3, 0, 0, 5003);
DO $$ BEGIN
  ASSERT (SELECT id FROM returned WHERE op = 'first') = 1, 'RETURNING id of a new row';
  ASSERT (SELECT count(*) FROM inbound_messages) = 3, 'the duplicate was stored';
  ASSERT (SELECT text FROM inbound_messages WHERE platform_message_id = 'Ev1') = 'hello';
END $$;
-- A row skipped by ON CONFLICT still drew a number from the identity: ids have gaps on
-- PostgreSQL (never reused, still increasing), so nothing may assume consecutive ids.
SELECT id AS ev1 FROM inbound_messages WHERE platform_message_id = 'Ev1' \gset
SELECT id AS ev2 FROM inbound_messages WHERE platform_message_id = 'Ev2' \gset
SELECT id AS tg77 FROM inbound_messages WHERE platform_message_id = '77' \gset
\echo inbound ids :ev1 :ev2 :tg77
PREPARE inbound_drop AS UPDATE inbound_messages SET state = 'dropped', drop_reason = $1 WHERE id = $2
  AND state = 'received';
EXECUTE inbound_drop('no route', :tg77);
PREPARE inbound_mark_dropped AS UPDATE inbound_messages SET state = 'dropped', drop_reason = $1, namespace_id = $2
  WHERE id IN ($3,$4);
PREPARE inbound_mark_done AS UPDATE inbound_messages SET state = 'done', namespace_id = $1 WHERE id IN ($2);
PREPARE inbound_turn AS UPDATE inbound_messages SET turn_last_id = $1 WHERE state = 'received' AND id IN ($2,$3);
EXECUTE inbound_turn(:ev2, :ev1, :ev2);
PREPARE inbound_received AS SELECT id, channel, bot, platform_message_id, chat_jid, sender, sender_name, text,
  reply_ref, message_ref, sent_at, is_group, mentions_bot, COALESCE(turn_last_id, 0) FROM inbound_messages
  WHERE state = 'received' AND id > $1 ORDER BY id LIMIT $2;
EXECUTE inbound_received(0, 10);
EXECUTE inbound_mark_done('n-ops', :ev1);
EXECUTE inbound_mark_dropped('stale', 'n-ops', :ev2, :tg77);
PREPARE inbound_find AS SELECT id FROM inbound_messages WHERE channel = $1 AND bot = $2 AND platform_message_id = $3;
EXECUTE inbound_find('slack', 'main', 'Ev2');
PREPARE latest_bot AS SELECT channel, bot FROM inbound_messages WHERE chat_jid = $1 ORDER BY id DESC LIMIT 1;
EXECUTE latest_bot('slack:C1');
DO $$ BEGIN
  ASSERT (SELECT string_agg(platform_message_id || ':' || state || ':' || coalesce(drop_reason, '')
                            || ':' || (coalesce(turn_last_id, 0) = (SELECT id FROM inbound_messages
                                       WHERE platform_message_id = 'Ev2')), ' ' ORDER BY id)
          FROM inbound_messages) = 'Ev1:done::true Ev2:dropped:stale:true 77:dropped:stale:false', 'inbound states';
END $$;

-- ---------------------------------------------------------------- outbox_store.cpp
-- insert_pieces: keyed, two pieces (9 parameters a row), then the same key again.
PREPARE outbox_keyed AS INSERT INTO outbox(channel, bot, chat_jid, text, reply_to, state, attempts, next_attempt_at,
  created_at, updated_at, idempotency_key) VALUES ($1,$2,$3,$4,$5,'pending',0,$6,$7,$8,$9),
  ($10,$11,$12,$13,$14,'pending',0,$15,$16,$17,$18) ON CONFLICT DO NOTHING RETURNING id;
PREPARE outbox_plain AS INSERT INTO outbox(channel, bot, chat_jid, text, reply_to, state, attempts, next_attempt_at,
  created_at, updated_at) VALUES ($1,$2,$3,$4,$5,'pending',0,$6,$7,$8) RETURNING id;
EXECUTE outbox_keyed('slack', 'main', 'slack:C1', 'part 1', '1.2', 6000, 6000, 6000, 'n-ops:1:0',
                     'slack', 'main', 'slack:C1', 'part 2', '1.2', 6000, 6000, 6000, 'n-ops:1:1');
EXECUTE outbox_keyed('slack', 'main', 'slack:C1', 'part 1', '1.2', 6001, 6001, 6001, 'n-ops:1:0',
                     'slack', 'main', 'slack:C1', 'part 2', '1.2', 6001, 6001, 6001, 'n-ops:1:1');
EXECUTE outbox_plain('telegram', 'bot', 'tg:1', 'solo', NULL, 6002, 6002, 6002);
PREPARE outbox_by_key AS SELECT id FROM outbox WHERE idempotency_key IN ($1,$2) ORDER BY id;
EXECUTE outbox_by_key('n-ops:1:0', 'n-ops:1:1');
SELECT id AS o1 FROM outbox WHERE idempotency_key = 'n-ops:1:0' \gset
SELECT id AS o2 FROM outbox WHERE idempotency_key = 'n-ops:1:1' \gset
SELECT id AS o3 FROM outbox WHERE text = 'solo' \gset
\echo outbox ids :o1 :o2 :o3
DO $$ BEGIN
  ASSERT (SELECT count(*) FROM outbox) = 3, 'keyed pieces stored twice';
END $$;
PREPARE outbox_pending AS SELECT o.id, o.chat_jid, o.text, COALESCE(o.reply_to, ''), o.attempts, o.next_attempt_at,
  o.created_at, CASE WHEN o.attempt_started_at IS NULL THEN 0 ELSE 1 END FROM outbox o
  WHERE o.channel = $1 AND o.bot = $2 AND o.state = 'pending' AND o.next_attempt_at <= $4
  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.bot = o.bot
  AND e.chat_jid = o.chat_jid AND e.state = 'pending' AND e.id < o.id AND e.next_attempt_at > $4)
  ORDER BY o.id LIMIT $3;
PREPARE outbox_started AS UPDATE outbox SET attempt_started_at = $1 WHERE state = 'pending' AND id IN ($2,$3);
EXECUTE outbox_started(6100, :o1, :o2);
EXECUTE outbox_pending('slack', 'main', 10, 7000);
PREPARE outbox_cleared AS UPDATE outbox SET attempt_started_at = NULL WHERE id IN ($1);
EXECUTE outbox_cleared(:o2);
PREPARE outbox_sent AS UPDATE outbox SET state = 'sent', attempts = $1, delivered_id = $2, last_error = NULL,
  updated_at = $3, attempt_started_at = NULL WHERE id = $4;
EXECUTE outbox_sent(1, 'ts-1', 6200, :o1);
PREPARE outbox_retry AS UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, updated_at = $4,
  attempt_started_at = NULL WHERE id = $5 AND state = 'pending';
PREPARE outbox_retry_in_flight AS UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3,
  updated_at = $4 WHERE id = $5 AND state = 'pending';
EXECUTE outbox_retry(1, 9000, 'HTTP 500', 6300, :o2);
EXECUTE outbox_retry_in_flight(2, 9500, 'timeout', 6400, :o2);
PREPARE outbox_next_due AS SELECT min(next_attempt_at) FROM outbox WHERE channel = $1 AND bot = $2
  AND state = 'pending' AND next_attempt_at > $3;
EXECUTE outbox_next_due('slack', 'main', 7000);
PREPARE outbox_failed AS UPDATE outbox SET state = 'failed', attempts = $1, last_error = $2, updated_at = $3,
  attempt_started_at = NULL WHERE id = $4;
EXECUTE outbox_failed(3, 'gave up', 6500, :o3);
PREPARE outbox_list AS SELECT id, channel, bot, chat_jid, text, COALESCE(reply_to, ''), state, attempts,
  next_attempt_at, COALESCE(last_error, ''), COALESCE(delivered_id, ''), created_at, updated_at FROM outbox
  WHERE state = $1 AND channel = $2 AND bot = $3 ORDER BY id DESC LIMIT $4;
EXECUTE outbox_list('pending', 'slack', 'main', 100);
PREPARE outbox_list_all AS SELECT id, channel, bot, chat_jid, text, COALESCE(reply_to, ''), state, attempts,
  next_attempt_at, COALESCE(last_error, ''), COALESCE(delivered_id, ''), created_at, updated_at FROM outbox
  ORDER BY id DESC LIMIT $1;
EXECUTE outbox_list_all(100);
DO $$ BEGIN
  ASSERT (SELECT string_agg(text || ':' || state || ':' || attempts, ' ' ORDER BY id) FROM outbox)
         = 'part 1:sent:1 part 2:pending:2 solo:failed:3';
  ASSERT (SELECT next_attempt_at FROM outbox WHERE text = 'part 2') = 9500;
END $$;

-- ---------------------------------------------------------------- channel_state_store.cpp
PREPARE state_upsert AS INSERT INTO channel_state(channel, bot, key, value, updated_at) VALUES($1, $2, $3, $4, $5)
  ON CONFLICT(channel, bot, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
EXECUTE state_upsert('telegram', 'bot', 'offset', '100', 1);
EXECUTE state_upsert('telegram', 'bot', 'offset', '101', 2);
PREPARE state_read AS SELECT value FROM channel_state WHERE channel = $1 AND bot = $2 AND key = $3;
EXECUTE state_read('telegram', 'bot', 'offset');

-- ---------------------------------------------------------------- container_run_store.cpp
PREPARE run_insert AS INSERT INTO container_runs(id, namespace_id, kind, backend, image, state)
  VALUES($1, $2, $3, $4, $5, $6);
PREPARE run_transition AS INSERT INTO container_run_transitions(run_id, from_state, to_state, at, reason)
  VALUES($1, $2, $3, $4, $5);
PREPARE run_state AS UPDATE container_runs SET state = $1, error = $2 WHERE id = $3;
PREPARE run_started AS UPDATE container_runs SET started_at = coalesce(started_at, $1), backend = $2 WHERE id = $3;
PREPARE run_ended AS UPDATE container_runs SET ended_at = $1, exit_code = $2 WHERE id = $3;
EXECUTE run_insert('zz-first', 'Ops', 'agent', 'oci', 'img:1', 'pending');
EXECUTE run_insert('aa-second', '', 'cowork', 'oci', 'img:1', 'pending');
EXECUTE run_insert('mm-third', 'Ops', 'scheduled', 'docker', 'img:2', 'pending');
EXECUTE run_transition('zz-first', '', 'preparing', 7000, '');
EXECUTE run_state('running', '', 'zz-first');
EXECUTE run_started(7100, 'oci', 'zz-first');
EXECUTE run_started(7200, 'docker', 'zz-first');
EXECUTE run_state('running', '', 'aa-second');
EXECUTE run_ended(7300, -1, 'mm-third');
PREPARE run_list AS SELECT id, namespace_id, kind, backend, image, state, exit_code, started_at, ended_at, error
  FROM container_runs WHERE state = $1 ORDER BY seq DESC LIMIT 500;
EXECUTE run_list('running');
SELECT id, namespace_id, kind, backend, image, state, exit_code, started_at, ended_at, error
  FROM container_runs ORDER BY seq DESC LIMIT 500;
DO $$ BEGIN
  ASSERT (SELECT string_agg(id, ' ' ORDER BY seq DESC) FROM container_runs) = 'mm-third aa-second zz-first',
         'newest first by insertion';
  ASSERT (SELECT started_at FROM container_runs WHERE id = 'zz-first') = 7100, 'first start kept';
END $$;
SELECT id, coalesce(namespace_id, ''), kind, image FROM container_runs WHERE state IN ('starting', 'idle', 'running');
PREPARE run_cowork AS SELECT 1 FROM container_runs WHERE id = $1 AND kind = 'cowork' AND state NOT IN ('exited', 'dead');
EXECUTE run_cowork('aa-second');
PREPARE run_gone AS UPDATE container_runs SET state = 'exited', error = 'broker restarted; container gone',
  ended_at = $1 WHERE id = $2;
EXECUTE run_gone(7400, 'aa-second');

-- ---------------------------------------------------------------- task_store.cpp
PREPARE task_resolve AS SELECT id, name FROM namespaces WHERE id = $1 UNION ALL SELECT id, name FROM namespaces
  WHERE name = $1;
EXECUTE task_resolve('Ops');
PREPARE task_insert AS INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type, schedule_value,
  anchor_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7);
PREPARE task_save AS UPDATE scheduled_tasks SET name = $2, namespace_id = $3, prompt = $4, schedule_type = $5,
  schedule_value = $6, time_zone = $7, image = $8, timeout_secs = $9, context_mode = $10,
  catch_up = $11, announce_jid = $12, retry_max_attempts = $13, retry_backoff_ms = $14,
  status = $15, anchor_at = $16, next_run = $17, run_requested_at = $18, last_run = $19,
  last_result = $20, updated_at = $21 WHERE id = $1;
EXECUTE task_insert('t1', 'daily', 'n-ops', 'report', 'cron', '0 9 * * *', 8000);
EXECUTE task_save('t1', 'daily', 'n-ops', 'report', 'cron', '0 9 * * *', 'Europe/Berlin', NULL, 300, 'isolated',
                  'once', NULL, 0, 0, 'active', 8000, 9000, NULL, NULL, NULL, 8000);
EXECUTE task_insert('t2', 'once', 'n-ops', 'ping', 'once', '2030-01-01T00:00:00', 8001);
EXECUTE task_save('t2', 'once', 'n-ops', 'ping', 'once', '2030-01-01T00:00:00', 'UTC', 'img:3', 0, 'group',
                  'skip', 'slack:C1', 2, 1000, 'active', 8001, 8500, 8400, NULL, NULL, 8001);
PREPARE task_select AS SELECT t.id, t.name, t.namespace_id, n.name, t.prompt, t.schedule_type, t.schedule_value,
  t.time_zone, t.image, t.timeout_secs, t.context_mode, t.catch_up, t.announce_jid, t.retry_max_attempts,
  t.retry_backoff_ms, t.status, t.anchor_at, t.next_run, t.run_requested_at, t.last_run, t.last_result,
  t.created_at, t.updated_at FROM scheduled_tasks t JOIN namespaces n ON n.id = t.namespace_id WHERE t.id = $1;
EXECUTE task_select('t2');
PREPARE task_list AS SELECT t.id FROM scheduled_tasks t JOIN namespaces n ON n.id = t.namespace_id
  WHERE 1 = 1 AND t.namespace_id = $1 AND t.status = $2 ORDER BY t.created_at, t.id;
EXECUTE task_list('n-ops', 'active');
PREPARE task_due AS SELECT t.id FROM scheduled_tasks t JOIN namespaces n ON n.id = t.namespace_id
  WHERE ((t.status = 'active' AND t.next_run <= $1) OR t.run_requested_at <= $1)
  AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running')
  ORDER BY CASE WHEN t.run_requested_at IS NULL OR t.next_run < t.run_requested_at
  THEN t.next_run ELSE t.run_requested_at END, t.id;
EXECUTE task_due(10000);
DO $$ BEGIN
  -- t2 is planned at min(8500, 8400) = 8400, before t1's 9000.
  ASSERT (SELECT string_agg(id, ' ') FROM (SELECT t.id FROM scheduled_tasks t WHERE t.next_run <= 10000
          ORDER BY CASE WHEN t.run_requested_at IS NULL OR t.next_run < t.run_requested_at
          THEN t.next_run ELSE t.run_requested_at END, t.id) AS d) = 't2 t1', 'due order';
END $$;
SELECT min(CASE WHEN status = 'active' AND (run_requested_at IS NULL OR next_run < run_requested_at)
  THEN next_run ELSE run_requested_at END) FROM scheduled_tasks t
  WHERE NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running');
SELECT id, CASE WHEN status = 'active' AND next_run IS NOT NULL
  AND (run_requested_at IS NULL OR next_run < run_requested_at) THEN next_run ELSE run_requested_at END
  FROM scheduled_tasks t WHERE ((status = 'active' AND next_run IS NOT NULL) OR run_requested_at IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running');
PREPARE task_running AS SELECT count(*) FROM task_runs WHERE task_id = $1 AND status = 'running';
EXECUTE task_running('t1');
PREPARE run_start AS INSERT INTO task_runs(task_id, trigger, attempt, run_at, status) VALUES ($1, $2, $3, $4, $5)
  RETURNING id;
EXECUTE run_start('t1', 'schedule', 1, 9001, 'running');
EXECUTE run_start('t2', 'manual', 1, 9002, 'running');
PREPARE run_select AS SELECT id, task_id, trigger, attempt, run_at, duration_ms, status, result, error FROM task_runs
  WHERE id = $1;
EXECUTE run_select(1);
PREPARE run_finish AS UPDATE task_runs SET duration_ms = $2, status = $3, result = $4, error = $5 WHERE id = $1;
EXECUTE run_finish(1, 120, 'success', 'done', NULL);
PREPARE tasks_abandon AS UPDATE scheduled_tasks SET status = 'failed', last_result = $1,
  updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END
  WHERE schedule_type = 'once' AND status = 'active' AND next_run IS NULL AND id IN
  (SELECT task_id FROM task_runs WHERE status = 'running');
PREPARE runs_abandon AS UPDATE task_runs SET status = 'error', error = $1,
  duration_ms = CASE WHEN $2 > run_at THEN $2 - run_at ELSE 0 END WHERE status = 'running';
UPDATE scheduled_tasks SET next_run = NULL WHERE id = 't2';
EXECUTE tasks_abandon('error: node stopped during the run', 5);
EXECUTE runs_abandon('node stopped during the run', 9000);
DO $$ BEGIN
  ASSERT (SELECT status || updated_at FROM scheduled_tasks WHERE id = 't2') = 'failed8001', 'updated_at kept';
  ASSERT (SELECT status || duration_ms FROM task_runs WHERE id = 2) = 'error0', 'duration clamped at 0';
  ASSERT (SELECT duration_ms FROM task_runs WHERE id = 1) = 120;
END $$;
PREPARE task_runs_of AS SELECT id, task_id, trigger, attempt, run_at, duration_ms, status, result, error FROM task_runs
  WHERE task_id = $1 ORDER BY run_at DESC, id DESC LIMIT $2;
EXECUTE task_runs_of('t1', 50);
PREPARE task_delete AS DELETE FROM scheduled_tasks WHERE id = $1;
EXECUTE task_delete('t2');
DO $$ BEGIN
  ASSERT (SELECT count(*) FROM task_runs WHERE task_id = 't2') = 0, 'runs cascade with their task';
END $$;

-- ---------------------------------------------------------------- audit_store.cpp
PREPARE audit_append AS INSERT INTO audit_log(seq, at, actor, event, subject, detail, prev_hash, hash)
  VALUES($1, $2, $3, $4, $5, $6, $7, $8);
EXECUTE audit_append(1, 10000, 'admin-api', 'namespace.created', 'Ops', '{"namespace":"Ops"}', '\x00', '\x01');
PREPARE audit_append2 AS INSERT INTO audit_log(seq, at, actor, event, subject, detail, prev_hash, hash) VALUES
  ($1,$2,$3,$4,$5,$6,$7,$8),($9,$10,$11,$12,$13,$14,$15,$16);
EXECUTE audit_append2(2, 10001, 'node', 'a', '', 'not json', '\x01', '\x02',
                      3, 10002, 'node', 'b', '', '{}', '\x02', '\x03');
SELECT 1;  -- writer_barrier
SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;
PREPARE audit_forward AS SELECT seq, at, actor, event, subject, detail, prev_hash, hash FROM audit_log
  WHERE seq > $1 ORDER BY seq ASC LIMIT $2;
PREPARE audit_backward AS SELECT seq, at, actor, event, subject, detail, prev_hash, hash FROM audit_log
  WHERE seq < $1 ORDER BY seq DESC LIMIT $2;
EXECUTE audit_forward(1, 512);
EXECUTE audit_backward(9223372036854775807, 2);
PREPARE audit_by_hash AS SELECT seq FROM audit_log WHERE hash = $1 ORDER BY seq LIMIT 1;
EXECUTE audit_by_hash('\x02');
SELECT seq, at, actor, event, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq;
DO $$ BEGIN
  BEGIN
    UPDATE audit_log SET detail = '{}' WHERE seq = 1;
    RAISE EXCEPTION 'audit_log accepted an UPDATE';
  EXCEPTION WHEN integrity_constraint_violation THEN NULL;
  END;
  BEGIN
    DELETE FROM audit_log WHERE seq = 1;
    RAISE EXCEPTION 'audit_log accepted a DELETE';
  EXCEPTION WHEN integrity_constraint_violation THEN NULL;
  END;
  BEGIN
    TRUNCATE audit_log;
    RAISE EXCEPTION 'audit_log accepted a TRUNCATE';
  EXCEPTION WHEN integrity_constraint_violation THEN NULL;
  END;
  -- An UPDATE that matches nothing is no change (as on SQLite).
  UPDATE audit_log SET detail = '{}' WHERE seq = 99;
  ASSERT (SELECT count(*) FROM audit_log) = 3;
END $$;

-- ---------------------------------------------------------------- vault_store.cpp
PREPARE secret_created AS SELECT created_at FROM secrets WHERE name = $1;
PREPARE secret_insert AS INSERT INTO secrets(ciphertext, nonce, updated_at, name, created_at) VALUES($1, $2, $3, $4, $5);
PREPARE secret_update AS UPDATE secrets SET ciphertext = $1, nonce = $2, updated_at = $3 WHERE name = $4;
PREPARE secret_get AS SELECT ciphertext, nonce FROM secrets WHERE name = $1;
PREPARE secret_delete AS DELETE FROM secrets WHERE name = $1;
PREPARE secret_rotate AS UPDATE secrets SET ciphertext = $1, nonce = $2 WHERE name = $3;
EXECUTE secret_created('api_key');
EXECUTE secret_insert('\x00ff', '\x0102', 11000, 'api_key', 11000);
EXECUTE secret_insert('\x00ee', '\x0304', 11001, 'B_key', 11001);
EXECUTE secret_update('\x00aa', '\x0506', 11002, 'api_key');
EXECUTE secret_get('api_key');
SELECT name, ciphertext, nonce FROM secrets ORDER BY name;
SELECT name, created_at, updated_at FROM secrets ORDER BY name;
EXECUTE secret_rotate('\x00bb', '\x0708', 'api_key');
EXECUTE secret_delete('B_key');
DO $$ BEGIN
  ASSERT (SELECT ciphertext FROM secrets WHERE name = 'api_key') = '\x00bb'::bytea;
  ASSERT (SELECT count(*) FROM secrets) = 1;
END $$;

-- ------------------------------------------------------------- deleting a namespace
EXECUTE ns_insert('n-gone', 'gone', '', 0, '', 1, '{}', '', 1005, '{}', '');
PREPARE ns_delete AS DELETE FROM namespaces WHERE id = $1;
EXECUTE ns_delete('n-gone');
DO $$ BEGIN
  -- The slot stays taken after its namespace is gone; the next one gets a new number.
  ASSERT (SELECT slot FROM namespace_id_ranges WHERE namespace_id = 'n-gone') = 4;
END $$;
EXECUTE ns_delete('n-ops');
DO $$ BEGIN
  ASSERT (SELECT count(*) FROM chat_mappings WHERE namespace_id = 'n-ops') = 0, 'mappings cascade';
  ASSERT (SELECT count(*) FROM scheduled_tasks WHERE namespace_id = 'n-ops') = 0, 'tasks cascade';
  ASSERT (SELECT count(*) FROM namespace_cursors WHERE namespace_id = 'n-ops') = 0, 'cursor cascades';
  ASSERT (SELECT count(*) FROM container_runs WHERE namespace_id = 'Ops') = 2, 'run history stays';
END $$;
