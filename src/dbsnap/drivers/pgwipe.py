"""The SQL that empties a PostgreSQL database of everything a pg_dump archive recreates.

A restore runs it in the same transaction as the archive's own SQL, so the database ends up exactly
as the snapshot was (whatever tables, columns, views, partitions or extensions migrations added or
removed since) or, if anything fails, exactly as it was before. `pg_restore --clean` cannot do this:
it drops only what the archive contains, and fails on objects that changed shape (a dropped column
with a default) or that partitions inherit (a partition's primary key).

What is dropped: event triggers, extensions outside pg_catalog, every schema but public and the
system ones, every object in public, large objects, publications, foreign servers, and default
privileges; public's owner, privileges and comment are reset to what initdb made, because pg_dump
writes them only where they differ from that. Database-level settings (ALTER DATABASE ... SET, the
database's comment and privileges) are not in an archive made without --create and are left alone.
"""

from __future__ import annotations

WIPE = r"""
DO $dbsnap_wipe$
DECLARE
    item record;
    wanted aclitem[];
    modern boolean := current_setting('server_version_num')::int >= 150000;
BEGIN
    FOR item IN SELECT evtname FROM pg_event_trigger LOOP
        EXECUTE format('DROP EVENT TRIGGER IF EXISTS %I CASCADE', item.evtname);
    END LOOP;
    FOR item IN SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE n.nspname <> 'pg_catalog' LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', item.extname);
    END LOOP;
    FOR item IN SELECT nspname FROM pg_namespace
                WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')
                  AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%' LOOP
        EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', item.nspname);
    END LOOP;
    IF to_regnamespace('public') IS NULL THEN
        CREATE SCHEMA public;
    END IF;
    -- Identities are read before the first drop: a cascade may remove later items.
    FOR item IN
        SELECT o.type, o.identity FROM (
            SELECT DISTINCT d.classid, d.objid FROM pg_depend d
            WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = 'public'::regnamespace
              AND d.deptype = 'n'
        ) x, LATERAL pg_identify_object(x.classid, x.objid, 0) o
        ORDER BY CASE WHEN o.type IN ('table', 'view', 'materialized view', 'foreign table') THEN 0
                      WHEN o.type IN ('sequence', 'type') THEN 2 ELSE 1 END
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                       CASE item.type WHEN 'statistics object' THEN 'STATISTICS' ELSE upper(item.type) END,
                       item.identity);
    END LOOP;
    PERFORM lo_unlink(oid) FROM pg_largeobject_metadata;
    FOR item IN SELECT pubname FROM pg_publication LOOP
        EXECUTE format('DROP PUBLICATION IF EXISTS %I', item.pubname);
    END LOOP;
    FOR item IN SELECT srvname FROM pg_foreign_server LOOP
        EXECUTE format('DROP SERVER IF EXISTS %I CASCADE', item.srvname);
    END LOOP;
    -- Default privileges back to the built-in ones: revoke what each entry grants to others, then
    -- give the role its own (PostgreSQL removes an entry once it equals the default). A role the
    -- restoring user may not act for keeps its entry (a warning says so).
    FOR item IN
        SELECT d.defaclrole::regrole AS role, d.defaclnamespace, a.grantee,
               CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                    WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS kind
        FROM pg_default_acl d, LATERAL aclexplode(d.defaclacl) a
    LOOP
        BEGIN
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM %s',
                           item.role,
                           CASE WHEN item.defaclnamespace = 0 THEN ''
                                ELSE format('IN SCHEMA %I', item.defaclnamespace::regnamespace) END,
                           item.kind,
                           CASE WHEN item.grantee = 0 THEN 'PUBLIC' ELSE item.grantee::regrole::text END);
            IF item.defaclnamespace = 0 THEN
                EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s GRANT ALL ON %s TO %s',
                               item.role, item.kind, item.role);
                IF item.kind IN ('FUNCTIONS', 'TYPES') THEN
                    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s GRANT %s ON %s TO PUBLIC',
                                   item.role, CASE item.kind WHEN 'FUNCTIONS' THEN 'EXECUTE' ELSE 'USAGE' END,
                                   item.kind);
                END IF;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'dbsnap: default privileges of role % kept: %', item.role, SQLERRM;
        END;
    END LOOP;
    -- public as initdb made it: pg_dump records only how it differs from that.
    BEGIN
        IF modern AND (SELECT nspowner FROM pg_namespace WHERE nspname = 'public')
                      <> 'pg_database_owner'::regrole THEN
            ALTER SCHEMA public OWNER TO pg_database_owner;
        ELSIF NOT modern AND (SELECT nspowner FROM pg_namespace WHERE nspname = 'public') <> 10 THEN
            EXECUTE format('ALTER SCHEMA public OWNER TO %s', 10::regrole);
        END IF;
        SELECT initprivs INTO wanted FROM pg_init_privs
        WHERE classoid = 'pg_namespace'::regclass AND objoid = 'public'::regnamespace;
        IF wanted IS NOT NULL
           AND (SELECT nspacl FROM pg_namespace WHERE nspname = 'public') IS DISTINCT FROM wanted THEN
            FOR item IN SELECT DISTINCT a.grantee FROM pg_namespace n, LATERAL aclexplode(n.nspacl) a
                        WHERE n.nspname = 'public' LOOP
                EXECUTE format('REVOKE ALL ON SCHEMA public FROM %s',
                               CASE WHEN item.grantee = 0 THEN 'PUBLIC' ELSE item.grantee::regrole::text END);
            END LOOP;
            FOR item IN SELECT a.grantee, a.privilege_type, a.is_grantable FROM aclexplode(wanted) a LOOP
                EXECUTE format('GRANT %s ON SCHEMA public TO %s%s', item.privilege_type,
                               CASE WHEN item.grantee = 0 THEN 'PUBLIC' ELSE item.grantee::regrole::text END,
                               CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
            END LOOP;
        END IF;
        IF obj_description('public'::regnamespace, 'pg_namespace') IS DISTINCT FROM 'standard public schema'
        THEN
            COMMENT ON SCHEMA public IS 'standard public schema';
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'dbsnap: the owner or privileges of schema public kept: %', SQLERRM;
    END;
END
$dbsnap_wipe$;
"""
