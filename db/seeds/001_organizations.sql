-- Organizations of different shapes. Fixed ids, so tests and API examples can name them.
--   Acme Industrial Group        a multinational with factories on five continents
--   Nordlicht Präzisionstechnik  non-ASCII name, two Nordic sites
--   田中製作所 (Tanaka Seisakusho)  a name in CJK characters, one site without DST
--   Joe's Machine Shop           a single-site workshop (apostrophe in the name)
--   Greenfield Robotics          just signed up: no factories yet
--   Société Coopérative Ouvrière accents, one site with no coordinates or address

INSERT INTO organizations (id, name, slug, created_at) VALUES
    ('10000000-0000-4000-8000-000000000001', 'Acme Industrial Group', 'acme-industrial', '2019-03-14 08:00:00+00'),
    ('10000000-0000-4000-8000-000000000002', 'Nordlicht Präzisionstechnik GmbH', 'nordlicht', '2021-06-01 07:30:00+00'),
    ('10000000-0000-4000-8000-000000000003', '田中製作所', 'tanaka-seisakusho', '2022-01-11 00:15:00+00'),
    ('10000000-0000-4000-8000-000000000004', 'Joe''s Machine Shop', 'joes-machine-shop', '2023-09-20 14:45:00+00'),
    ('10000000-0000-4000-8000-000000000005', 'Greenfield Robotics', 'greenfield-robotics', now() - interval '2 days'),
    ('10000000-0000-4000-8000-000000000006', 'Société Coopérative Ouvrière de Lyon', 'scop-lyon', '2020-02-29 10:00:00+00');
