-- Data written by a v1 store (schema 001 only), used by the migration test:
-- the test applies 001_initial.sql, then this file, then upgrades.
INSERT INTO device VALUES (1, 'gw-0001', '张三', 'G-001', x'00112233445566778899aabbccddeeff', 1700000000000);
INSERT INTO docs (key, id, kind, scope, snapshot, heads, updated_at)
    VALUES (1, 'household/0190b7a4-0000-7000-8000-000000000001', 'household', 'G-001', x'', x'', 1700000000000);
INSERT INTO sync_docs (doc_key, dirty) VALUES (1, 1);
INSERT INTO households VALUES ('0190b7a4-0000-7000-8000-000000000001', 1, 'G-001', '幸福社区', '3', '2', '501',
    '幸福社区3栋2单元501', '李四', '13800138000', 'none', 'active', '', 1700000000000);
PRAGMA user_version = 1;
