-- Compatibility objects that let embedded PostgreSQL accept Deep Lake SQL unchanged.
-- Idempotent: runs at every start, in one transaction, under an advisory lock.
SELECT pg_advisory_xact_lock(hashtext('deeplake_compat.bootstrap'));

CREATE SCHEMA IF NOT EXISTS deeplake_compat;
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA deeplake_compat;

-- `CREATE TABLE … USING deeplake` makes heap tables; `USING deeplake_index` makes btree-backed
-- stand-ins that the local API always creates as empty partial indexes (`WHERE false`).
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_am WHERE amname = 'deeplake') THEN
        CREATE ACCESS METHOD deeplake TYPE TABLE HANDLER heap_tableam_handler;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_am WHERE amname = 'deeplake_index') THEN
        CREATE ACCESS METHOD deeplake_index TYPE INDEX HANDLER bthandler;
    END IF;
END $$;

-- Cosine similarity in [-1, 1], computed by pgvector; an empty array gives NULL.
-- Not STRICT, so that the planner inlines it (a strict function with CASE is not inlined).
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_cosine_similarity(a float4[], b float4[])
    RETURNS float4 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN cardinality(a) = 0 OR cardinality(b) = 0 THEN NULL
                ELSE (1 - (a::deeplake_compat.vector OPERATOR(deeplake_compat.<=>) b::deeplake_compat.vector))::float4
           END;

-- Keyword relevance of `query` to `doc`, higher is better: ts_rank of any query term (a stand-in for BM25).
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_bm25_similarity(doc text, query text)
    RETURNS float4 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ts_rank(to_tsvector('english', doc),
                   replace(plainto_tsquery('english', query)::text, ' & ', ' | ')::tsquery)::float4;

-- Managed-service call that refreshes a table's cached view; local tables are always fresh.
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_sync_table(table_name text)
    RETURNS void LANGUAGE sql VOLATILE
    AS 'SELECT';

DO $$ BEGIN
    IF to_regoperator('deeplake_compat.<#>(real[],real[])') IS NULL THEN
        CREATE OPERATOR deeplake_compat.<#> (LEFTARG = float4[], RIGHTARG = float4[],
            FUNCTION = deeplake_compat.deeplake_cosine_similarity, COMMUTATOR = OPERATOR(deeplake_compat.<#>));
    END IF;
    IF to_regoperator('deeplake_compat.<#>(text,text)') IS NULL THEN
        CREATE OPERATOR deeplake_compat.<#> (LEFTARG = text, RIGHTARG = text,
            FUNCTION = deeplake_compat.deeplake_bm25_similarity);
    END IF;
    IF to_regtype('deeplake_compat.deeplake_hybrid_record') IS NULL THEN
        CREATE TYPE deeplake_compat.deeplake_hybrid_record AS (embedding float4[], text_value text);
    END IF;
END $$;

-- Operator classes for deeplake_index: named ones as in pg_deeplake, then a copy of every default
-- built-in btree operator class for the remaining types.
DO $$
DECLARE
    opc record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_opclass WHERE opcname = 'deeplake_vector_ops') THEN
        CREATE OPERATOR CLASS deeplake_compat.deeplake_vector_ops DEFAULT FOR TYPE float4[] USING deeplake_index AS
            OPERATOR 1 < (anyarray, anyarray), OPERATOR 2 <= (anyarray, anyarray), OPERATOR 3 = (anyarray, anyarray),
            OPERATOR 4 >= (anyarray, anyarray), OPERATOR 5 > (anyarray, anyarray),
            FUNCTION 1 (float4[], float4[]) btarraycmp(anyarray, anyarray);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_opclass WHERE opcname = 'deeplake_hybrid_ops') THEN
        CREATE OPERATOR CLASS deeplake_compat.deeplake_hybrid_ops
            DEFAULT FOR TYPE deeplake_compat.deeplake_hybrid_record USING deeplake_index AS
            OPERATOR 1 < (record, record), OPERATOR 2 <= (record, record), OPERATOR 3 = (record, record),
            OPERATOR 4 >= (record, record), OPERATOR 5 > (record, record),
            FUNCTION 1 (deeplake_compat.deeplake_hybrid_record, deeplake_compat.deeplake_hybrid_record)
                btrecordcmp(record, record);
    END IF;
    FOR opc IN
        SELECT c.opcname, c.opcintype, c.opcfamily, p.amproc
        FROM pg_opclass c
        JOIN pg_am am ON am.oid = c.opcmethod AND am.amname = 'btree'
        JOIN pg_amproc p ON p.amprocfamily = c.opcfamily AND p.amprocnum = 1
            AND p.amproclefttype = c.opcintype AND p.amprocrighttype = c.opcintype
        WHERE c.opcdefault AND c.opcnamespace = 'pg_catalog'::regnamespace AND NOT EXISTS (
            SELECT FROM pg_opclass d JOIN pg_am dam ON dam.oid = d.opcmethod AND dam.amname = 'deeplake_index'
            WHERE d.opcintype = c.opcintype)
    LOOP
        EXECUTE format('CREATE OPERATOR CLASS deeplake_compat.%I DEFAULT FOR TYPE %s USING deeplake_index AS %s, FUNCTION 1 %s',
            'deeplake_' || opc.opcname, opc.opcintype::regtype,
            (SELECT string_agg(format('OPERATOR %s %s (%s, %3$s)', o.amopstrategy, o.amopopr::regoper, opc.opcintype::regtype), ', ')
             FROM pg_amop o WHERE o.amopfamily = opc.opcfamily AND o.amoplefttype = opc.opcintype
                 AND o.amoprighttype = opc.opcintype AND o.amoppurpose = 's'),
            opc.amproc::regprocedure);
    END LOOP;
END $$;

-- Row counts for table listings.
CREATE OR REPLACE FUNCTION deeplake_compat.exact_row_count(rel regclass)
    RETURNS bigint LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
    RETURN n;
END $$;

-- Workspaces are schemas; this table holds their display names and creation times.
CREATE TABLE IF NOT EXISTS deeplake_compat.workspaces (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SCHEMA IF NOT EXISTS "default";
INSERT INTO deeplake_compat.workspaces (id, name) VALUES ('default', 'default') ON CONFLICT (id) DO NOTHING;

-- Deep Lake options of each deeplake_index stand-in, keyed by the index, so renames follow.
CREATE TABLE IF NOT EXISTS deeplake_compat.indexes (
    index_oid oid PRIMARY KEY,
    columns text[] NOT NULL,
    sort_order text NOT NULL CHECK (sort_order IN ('ASC', 'DESC')),
    index_type text,
    dimension integer CHECK (dimension > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE VIEW deeplake_compat.deeplake_indexes AS
    SELECT n.nspname AS schema_name, t.relname AS table_name, c.relname AS index_name,
           d.columns, d.sort_order, d.index_type, d.dimension, d.created_at
    FROM deeplake_compat.indexes d
    JOIN pg_index i ON i.indexrelid = d.index_oid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace;

-- Dropping an index or a workspace schema, however it happens, removes its bookkeeping row.
CREATE OR REPLACE FUNCTION deeplake_compat.forget_dropped_objects()
    RETURNS event_trigger LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM deeplake_compat.indexes
    WHERE index_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
    DELETE FROM deeplake_compat.workspaces
    WHERE id IN (SELECT object_name FROM pg_event_trigger_dropped_objects() WHERE object_type = 'schema');
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'deeplake_compat_forget_dropped_objects') THEN
        CREATE EVENT TRIGGER deeplake_compat_forget_dropped_objects ON sql_drop
            EXECUTE FUNCTION deeplake_compat.forget_dropped_objects();
    END IF;
END $$;
