-- Factories across time zones: DST zones in both hemispheres, half- and quarter-hour offsets,
-- zones without DST. Fixed ids 20000000-…-0000000000NN.

INSERT INTO factories (id, organization_id, name, country_code, city, address, timezone, latitude, longitude, created_at) VALUES
    -- Acme: five continents.
    ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
        'Stuttgart Plant', 'DE', 'Stuttgart', 'Industriestraße 12, 70565 Stuttgart', 'Europe/Berlin', 48.775800, 9.182900, '2019-03-20 09:00:00+00'),
    ('20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
        'Detroit Assembly', 'US', 'Detroit', '4400 Assembly Dr, Detroit, MI 48210', 'America/Detroit', 42.331400, -83.045800, '2019-05-02 13:00:00+00'),
    ('20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000001',
        'Pune Components', 'IN', 'Pune', 'Plot 7, MIDC Chakan, Pune 410501', 'Asia/Kolkata', 18.520400, 73.856700, '2020-01-15 04:30:00+00'),
    ('20000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000001',
        'Adelaide Works', 'AU', 'Adelaide', '15 Port Rd, Adelaide SA 5000', 'Australia/Adelaide', -34.928500, 138.600700, '2020-08-01 00:00:00+00'),
    ('20000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000001',
        'São Paulo Fábrica', 'BR', 'São Paulo', 'Av. das Nações Unidas 1000, São Paulo', 'America/Sao_Paulo', -23.550500, -46.633300, '2021-03-10 12:00:00+00'),
    ('20000000-0000-4000-8000-000000000006', '10000000-0000-4000-8000-000000000001',
        'Kathmandu Valley Plant', 'NP', 'Kathmandu', NULL, 'Asia/Kathmandu', 27.717200, 85.324000, '2024-04-14 03:15:00+00'),
    -- Nordlicht: above the Arctic circle, and a name that differs from Acme's only in case.
    ('20000000-0000-4000-8000-000000000007', '10000000-0000-4000-8000-000000000002',
        'Tromsø Fertigung', 'NO', 'Tromsø', 'Stakkevollvegen 65, 9019 Tromsø', 'Europe/Oslo', 69.649200, 18.955300, '2021-06-15 08:00:00+00'),
    ('20000000-0000-4000-8000-000000000008', '10000000-0000-4000-8000-000000000002',
        'stuttgart plant', 'SE', 'Malmö', 'Hamngatan 3, 211 22 Malmö', 'Europe/Stockholm', 55.604900, 13.003800, '2022-02-01 08:00:00+00'),
    -- Tanaka: no DST.
    ('20000000-0000-4000-8000-000000000009', '10000000-0000-4000-8000-000000000003',
        '大阪工場', 'JP', '大阪市', '大阪府大阪市此花区 1-2-3', 'Asia/Tokyo', 34.693700, 135.502300, '2022-01-20 01:00:00+00'),
    -- Joe's: a half-hour offset with DST.
    ('20000000-0000-4000-8000-000000000010', '10000000-0000-4000-8000-000000000004',
        'Main Shop', 'CA', 'St. John''s', '12 Water St, St. John''s, NL A1C 1A1', 'America/St_Johns', 47.561500, -52.712600, '2023-09-21 12:00:00+00'),
    -- Société Coopérative: no coordinates, no address.
    ('20000000-0000-4000-8000-000000000011', '10000000-0000-4000-8000-000000000006',
        'Atelier Croix-Rousse', 'FR', 'Lyon', NULL, 'Europe/Paris', NULL, NULL, '2020-03-02 09:00:00+00'),
    -- Acme's newest site: built, but no gateways installed yet.
    ('20000000-0000-4000-8000-000000000012', '10000000-0000-4000-8000-000000000001',
        'Monterrey Greenfield Site', 'MX', 'Monterrey', 'Parque Industrial Apodaca, N.L.', 'America/Monterrey', 25.686600, -100.316100, now() - interval '10 days');
