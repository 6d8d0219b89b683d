-- Gateways. First a hand-written set that names every edge case, then a generated fleet large
-- enough to page through and to exercise the indexes. Timestamps are relative to now(), so
-- "not seen for N minutes" has the same answers whenever the seeds are loaded.

-- Hand-written edge cases, ids 30000000-…-0000000000NN.
INSERT INTO gateways (id, factory_id, serial_number, mac_address, ip_address, firmware_version, status, last_seen_at, metadata, created_at) VALUES
    -- Online over IPv4, seen seconds ago, rich nested metadata.
    ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001',
        'GW-STG-0001', '00:1b:63:84:45:e6', '192.168.10.21', '4.2.1', 'online', now() - interval '15 seconds',
        '{"hardware": {"model": "EdgeBox 500", "revision": "C"}, "hall": "B2", "protocols": ["opc-ua", "modbus-tcp"], "sensors": 48}',
        '2019-04-01 10:00:00+00'),
    -- Online over IPv6.
    ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000002',
        'GW-DET-0001', '00:1b:63:84:45:e7', '2001:db8:85a3::8a2e:370:7334', '4.2.1', 'online', now() - interval '40 seconds',
        '{"hardware": {"model": "EdgeBox 500", "revision": "D"}, "line": "Body shop 3"}', '2019-05-10 16:00:00+00'),
    -- Provisioning, never seen: no address, no MAC known yet, empty metadata.
    ('30000000-0000-4000-8000-000000000003', '20000000-0000-4000-8000-000000000003',
        'GW-PNE-0100', NULL, NULL, '5.0.0-rc.2', 'provisioning', NULL, '{}', now() - interval '1 hour'),
    -- Offline for three days.
    ('30000000-0000-4000-8000-000000000004', '20000000-0000-4000-8000-000000000004',
        'GW-ADL-0007', '3c:52:82:1a:00:07', '10.20.0.7', '4.1.9', 'offline', now() - interval '3 days',
        '{"last_error": "uplink timeout", "retries": 17}', '2020-08-15 01:00:00+00'),
    -- In maintenance, seen an hour ago.
    ('30000000-0000-4000-8000-000000000005', '20000000-0000-4000-8000-000000000005',
        'GW-SAO-0003', '3c:52:82:1a:00:08', '10.30.0.3', '4.2.0+build.117', 'maintenance', now() - interval '1 hour',
        '{"ticket": "MNT-2291", "technician": "João Araújo"}', '2021-03-20 12:00:00+00'),
    -- Decommissioned years ago, and its replacement at the same factory.
    ('30000000-0000-4000-8000-000000000006', '20000000-0000-4000-8000-000000000001',
        'GW-STG-0000', '00:1b:63:00:00:01', '192.168.10.20', '1.0.3', 'decommissioned', '2020-11-30 23:59:00+00',
        '{"replaced_by": "GW-STG-0001", "reason": "end of life"}', '2019-03-21 09:00:00+00'),
    -- Unicode in metadata; a quarter-hour time zone factory.
    ('30000000-0000-4000-8000-000000000007', '20000000-0000-4000-8000-000000000006',
        'GW-KTM-0001', '3c:52:82:1a:00:09', '10.40.0.1', '4.2.1', 'online', now() - interval '2 minutes',
        '{"label": "काठमाडौं लाइन १", "note": "🛠 rooftop antenna"}', '2024-04-20 05:00:00+00'),
    -- Joe's only gateway: a consumer router on a dynamic address, flapping between states.
    ('30000000-0000-4000-8000-000000000008', '20000000-0000-4000-8000-000000000010',
        'JOES-1', 'f4:f2:6d:11:22:33', '172.16.0.2', '3.9.12', 'offline', now() - interval '20 minutes',
        '{"owner_note": "unplugged at night"}', '2023-09-22 12:00:00+00'),
    -- The cooperative's gateway has no MAC on record but a known IPv6 address.
    ('30000000-0000-4000-8000-000000000009', '20000000-0000-4000-8000-000000000011',
        'SCOP-LYON-01', NULL, 'fd12:3456:789a::1', '4.0.0', 'online', now() - interval '5 seconds',
        '{}', '2020-03-05 09:00:00+00'),
    -- Tanaka: provisioning again after a factory reset; seen before, not since.
    ('30000000-0000-4000-8000-000000000010', '20000000-0000-4000-8000-000000000009',
        'TNK-OSK-0001', '00:0d:4b:00:00:01', '10.50.0.1', '4.2.1', 'provisioning', now() - interval '30 days',
        '{"factory_reset": true}', '2022-02-01 00:00:00+00'),
    -- Nordlicht: maintenance during the polar night, and a decommissioned spare.
    ('30000000-0000-4000-8000-000000000011', '20000000-0000-4000-8000-000000000007',
        'NL-TOS-0001', '00:0d:4b:00:00:02', '10.60.0.1', '4.2.1', 'maintenance', now() - interval '6 hours',
        '{"heater": "replaced"}', '2021-06-20 08:00:00+00'),
    ('30000000-0000-4000-8000-000000000012', '20000000-0000-4000-8000-000000000008',
        'NL-MMA-0001', NULL, NULL, '3.0.0', 'decommissioned', NULL,
        '{"reason": "never installed"}', '2022-02-10 08:00:00+00');

-- The generated fleet: 480 gateways, 48 in each factory except Joe's (one router is all it has)
-- and Acme's new Monterrey site (nothing installed yet), with deterministic ids
-- (md5 of the serial), serials, MACs and addresses. Status by n % 20:
--   0-10 online (264), 11-14 offline (96), 15-16 maintenance (48), 17 provisioning (24),
--   18-19 decommissioned (48).
-- The site moves on by one extra every 20 gateways ((n + (n - 1) / 20) % 10), so every site gets
-- every remainder of n % 20: each generated site has gateways in every status.
-- Every 7th gateway has an IPv6 address. Online ones were seen within the last five minutes,
-- except n % 20 = 10 (24 of them), silent for two hours or more while still marked online: what
-- a job that marks silent gateways offline must find. Offline ones were seen between 1 and 48
-- hours ago.
INSERT INTO gateways (id, factory_id, serial_number, mac_address, ip_address, firmware_version, status, last_seen_at, metadata, created_at)
SELECT
    md5(serial)::uuid,
    factory_id,
    serial,
    ('02:00:00:' || lpad(to_hex(n / 256), 2, '0') || ':' || lpad(to_hex(n % 256), 2, '0') || ':01')::macaddr,
    CASE WHEN n % 7 = 0
        THEN ('2001:db8:1::' || to_hex(n))::inet
        ELSE ('10.' || (100 + factory_no) || '.' || (n / 250) || '.' || (n % 250 + 1))::inet
    END,
    (ARRAY['4.2.1', '4.2.0', '4.1.9', '3.9.12', '5.0.0-rc.2'])[n % 5 + 1],
    status,
    CASE status
        WHEN 'online' THEN CASE
            WHEN n % 20 = 10 THEN now() - interval '2 hours' - n * interval '1 second'
            ELSE now() - (n % 300) * interval '1 second'
        END
        WHEN 'offline' THEN now() - (1 + n % 48) * interval '1 hour'
        WHEN 'maintenance' THEN now() - (n % 90) * interval '1 minute'
        WHEN 'provisioning' THEN NULL
        ELSE now() - (200 + n) * interval '1 day'
    END,
    jsonb_build_object(
        'hardware', jsonb_build_object('model', (ARRAY['EdgeBox 300', 'EdgeBox 500', 'RuggedNode X2'])[n % 3 + 1]),
        'hall', 'H' || (n % 6 + 1),
        'sensors', n % 64
    ),
    now() - (400 - n / 2) * interval '1 day'
FROM (
    SELECT
        n,
        factory_no,
        ('20000000-0000-4000-8000-0000000000' || lpad(factory_no::text, 2, '0'))::uuid AS factory_id,
        'GW-' || lpad(n::text, 5, '0') AS serial,
        CASE
            WHEN n % 20 <= 10 THEN 'online'
            WHEN n % 20 <= 14 THEN 'offline'
            WHEN n % 20 <= 16 THEN 'maintenance'
            WHEN n % 20 = 17 THEN 'provisioning'
            ELSE 'decommissioned'
        END::gateway_status AS status
    FROM generate_series(1, 480) AS n,
        LATERAL (SELECT (ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 11])[(n + (n - 1) / 20) % 10 + 1] AS factory_no) AS site
) AS fleet;
