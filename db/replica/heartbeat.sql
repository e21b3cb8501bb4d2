-- The primary's replication heartbeat: rewrites replication_heartbeat every second, so that a
-- replica's lag is UTC now minus beat_at there. Run on the primary as root by the replica's
-- seeding (seed_from_primary.sh) and again on a promoted replica (promote.sh).
-- Needs the event scheduler (loose-event-scheduler in db/conf/evpipe.cnf).
CREATE EVENT IF NOT EXISTS replication_heartbeat_beat
    ON SCHEDULE EVERY 1 SECOND
    DO INSERT INTO replication_heartbeat (id, beat_at) VALUES (1, UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE beat_at = UTC_TIMESTAMP(6);
