-- What lets PostgreSQL accept Deep Lake SQL unchanged (schema deeplake_compat), the local API's
-- bookkeeping (schema deeplake_internal), and the privileges of the role agents' SQL runs as
-- (current_setting('deeplake.query_role'), set by the caller).
-- Runs as a superuser at every start, in one transaction, under an advisory lock; idempotent.
-- The query role may use deeplake_compat and owns the workspace schemas; it has no rights in
-- deeplake_internal, and no function it can call runs SQL text it is given.
SELECT pg_advisory_xact_lock(hashtext('deeplake_compat.bootstrap'));

CREATE SCHEMA IF NOT EXISTS deeplake_compat;
CREATE SCHEMA IF NOT EXISTS deeplake_internal;
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

-- pgvector's distances on Deep Lake's vector columns (float4[]): `<=>` cosine distance (1 - cosine
-- similarity), `<->` Euclidean distance; lower is nearer, as in pgvector. Not STRICT, so that they inline.
CREATE OR REPLACE FUNCTION deeplake_compat.float4_cosine_distance(a float4[], b float4[])
    RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN a::deeplake_compat.vector OPERATOR(deeplake_compat.<=>) b::deeplake_compat.vector;
CREATE OR REPLACE FUNCTION deeplake_compat.float4_l2_distance(a float4[], b float4[])
    RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN a::deeplake_compat.vector OPERATOR(deeplake_compat.<->) b::deeplake_compat.vector;
DO $$ BEGIN
    IF to_regoperator('deeplake_compat.<=>(real[],real[])') IS NULL THEN
        CREATE OPERATOR deeplake_compat.<=> (LEFTARG = float4[], RIGHTARG = float4[],
            FUNCTION = deeplake_compat.float4_cosine_distance, COMMUTATOR = OPERATOR(deeplake_compat.<=>));
    END IF;
    IF to_regoperator('deeplake_compat.<->(real[],real[])') IS NULL THEN
        CREATE OPERATOR deeplake_compat.<-> (LEFTARG = float4[], RIGHTARG = float4[],
            FUNCTION = deeplake_compat.float4_l2_distance, COMMUTATOR = OPERATOR(deeplake_compat.<->));
    END IF;
END $$;

-- BM25 keyword relevance (Okapi BM25, k1 = 1.2, b = 0.75, IDF ln(1 + (N - df + 0.5) / (df + 0.5))).
-- Tokens are the maximal runs of word characters (letters, digits, '_') of the lower-cased text; no
-- stemming, no stop words. The local API rewrites `col <#> 'query'` in a SELECT over one table into
-- deeplake_compat.bm25_score(col, corpus), with the corpus statistics computed over the whole column
-- by that query (see _search.py); the operator below is the fallback for other contexts, which sees
-- one document only (N = 1).
DO $$ BEGIN
    IF to_regtype('deeplake_compat.bm25_corpus') IS NULL THEN
        CREATE TYPE deeplake_compat.bm25_corpus AS (
            terms text[],       -- distinct query terms
            patterns text[],    -- one regex per term: '\mterm\M'
            any_pattern text,   -- one regex matching any term; NULL when the query has no terms
            idf float8[],       -- per term
            avgdl float8,       -- average document length in tokens
            n bigint            -- documents (non-NULL values) in the corpus
        );
    END IF;
END $$;

CREATE OR REPLACE FUNCTION deeplake_compat.bm25_terms(query text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT m[1] FROM regexp_matches(lower(query), '(\w+)', 'g') AS m ORDER BY 1);

CREATE OR REPLACE FUNCTION deeplake_compat.bm25_patterns(terms text[])
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT '\m' || t || '\M' FROM unnest(terms) WITH ORDINALITY AS u(t, i) ORDER BY u.i);

CREATE OR REPLACE FUNCTION deeplake_compat.bm25_corpus(terms text[], n bigint, total bigint, df bigint[])
    RETURNS deeplake_compat.bm25_corpus LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ROW(
        terms,
        deeplake_compat.bm25_patterns(terms),
        CASE WHEN cardinality(terms) > 0 THEN '\m(' || array_to_string(terms, '|') || ')\M' END,
        ARRAY(SELECT ln(1 + (n - d + 0.5) / (d + 0.5)) FROM unnest(df) WITH ORDINALITY AS u(d, i) ORDER BY u.i),
        CASE WHEN n > 0 THEN total::float8 / n ELSE 0 END,
        n
    )::deeplake_compat.bm25_corpus;

-- Whether `doc` contains a query term (the rows a BM25 index scan returns).
CREATE OR REPLACE FUNCTION deeplake_compat.bm25_matches(doc text, corpus deeplake_compat.bm25_corpus)
    RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(doc) ~ (corpus).any_pattern;

CREATE OR REPLACE FUNCTION deeplake_compat.bm25_score(doc text, corpus deeplake_compat.bm25_corpus)
    RETURNS float4 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    ldoc text;
    score float8 := 0;
    tf integer;
    norm float8;
BEGIN
    IF doc IS NULL THEN
        RETURN NULL;
    END IF;
    ldoc := lower(doc);
    IF corpus.any_pattern IS NULL OR ldoc !~ corpus.any_pattern THEN
        RETURN 0;
    END IF;
    norm := 1.2 * (0.25 + 0.75 * CASE WHEN corpus.avgdl > 0
                                      THEN regexp_count(ldoc, '\w+') / corpus.avgdl ELSE 1 END);
    FOR i IN 1 .. cardinality(corpus.terms) LOOP
        tf := regexp_count(ldoc, corpus.patterns[i]);
        IF tf > 0 THEN
            score := score + corpus.idf[i] * tf * 2.2 / (tf + norm);
        END IF;
    END LOOP;
    RETURN score;
END $$;

-- `<#>` on (text, text) outside a rewritten SELECT: BM25 against a corpus of this one document.
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_bm25_similarity(doc text, query text)
    RETURNS float4 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN deeplake_compat.bm25_score(doc, deeplake_compat.bm25_corpus(
        deeplake_compat.bm25_terms(query), 1, regexp_count(doc, '\w+'),
        array_fill(1::bigint, ARRAY[cardinality(deeplake_compat.bm25_terms(query))])));

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
    IF to_regtype('deeplake_compat.deeplake_hybrid_record_weighted') IS NULL THEN
        CREATE TYPE deeplake_compat.deeplake_hybrid_record_weighted AS (
            embedding float4[], text_value text, vector_weight float8, text_weight float8);
    END IF;
END $$;

-- Hybrid search: `(emb, txt)::deeplake_hybrid_record <#> deeplake_hybrid_record(vec, 'query'[, w_vec, w_text])`.
-- The local API rewrites it in a SELECT over one table (see _search.py); anywhere else it is an error.
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_hybrid_record(vec float4[], query text)
    RETURNS deeplake_compat.deeplake_hybrid_record_weighted LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ROW(vec, query, 0.5, 0.5)::deeplake_compat.deeplake_hybrid_record_weighted;
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_hybrid_record(
        vec float4[], query text, vector_weight float8, text_weight float8)
    RETURNS deeplake_compat.deeplake_hybrid_record_weighted LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ROW(vec, query, vector_weight, text_weight)::deeplake_compat.deeplake_hybrid_record_weighted;
CREATE OR REPLACE FUNCTION deeplake_compat.deeplake_hybrid_similarity(
        doc deeplake_compat.deeplake_hybrid_record, query deeplake_compat.deeplake_hybrid_record_weighted)
    RETURNS float4 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RAISE EXCEPTION 'hybrid search (<#> with deeplake_hybrid_record) is supported by the local Deep Lake '
        'API only in a SELECT that reads one table: SELECT …, (embedding, text)::deeplake_hybrid_record <#> '
        'deeplake_hybrid_record(ARRAY[…]::float4[], ''query'') AS score FROM table ORDER BY score DESC LIMIT k';
END $$;
-- The merged hybrid score of one row, looked up in the {ctid: score} map a rewritten query builds.
CREATE OR REPLACE FUNCTION deeplake_compat.hybrid_score(scores jsonb, row_id tid)
    RETURNS float4 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce((scores ->> row_id::text)::float8, 0)::float4;
DO $$ BEGIN
    IF to_regoperator('deeplake_compat.<#>(deeplake_compat.deeplake_hybrid_record,'
                      'deeplake_compat.deeplake_hybrid_record_weighted)') IS NULL THEN
        CREATE OPERATOR deeplake_compat.<#> (LEFTARG = deeplake_compat.deeplake_hybrid_record,
            RIGHTARG = deeplake_compat.deeplake_hybrid_record_weighted,
            FUNCTION = deeplake_compat.deeplake_hybrid_similarity);
    END IF;
END $$;

-- Deep Lake column types (pg_deeplake's domains, and the managed service's extra ones).
DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM (VALUES
        ('image', 'bytea', NULL), ('video', 'bytea', NULL), ('file', 'bytea', NULL), ('file_id', 'uuid', NULL),
        ('embedding', 'real[]', 'array_ndims(VALUE) = 1'), ('embedding_2d', 'real[]', 'array_ndims(VALUE) = 2'),
        ('segment_mask', 'bytea', NULL), ('binary_mask', 'bytea', NULL), ('bounding_box', 'real[]', NULL),
        ('class_label', 'integer', NULL), ('deeplake_polygon', 'bytea', NULL), ('deeplake_point', 'real[]', NULL),
        ('mesh', 'bytea', NULL), ('medical', 'bytea', NULL)) AS v(name, base, check_expr)
    LOOP
        IF to_regtype('deeplake_compat.' || d.name) IS NULL THEN
            EXECUTE format('CREATE DOMAIN deeplake_compat.%I AS %s%s', d.name, d.base,
                           coalesce(' CHECK (' || d.check_expr || ')', ''));
        END IF;
    END LOOP;
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

-- Bookkeeping (deeplake_internal). Earlier versions kept these tables in deeplake_compat: move them.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['workspaces', 'organizations', 'members', 'indexes', 'ann_indexes'] LOOP
        IF to_regclass('deeplake_compat.' || t) IS NOT NULL AND to_regclass('deeplake_internal.' || t) IS NULL THEN
            EXECUTE format('ALTER TABLE deeplake_compat.%I SET SCHEMA deeplake_internal', t);
        END IF;
    END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS deeplake_compat_forget_dropped_objects;
DROP FUNCTION IF EXISTS deeplake_compat.forget_dropped_objects();
DROP FUNCTION IF EXISTS deeplake_compat.exact_row_count(regclass);
DROP FUNCTION IF EXISTS deeplake_compat.ann_estimate(text, text);
DROP FUNCTION IF EXISTS deeplake_compat.ann_lookup(text, text);
DROP FUNCTION IF EXISTS deeplake_compat.ann_build(oid);
DROP FUNCTION IF EXISTS deeplake_compat.ann_register(oid);
DROP FUNCTION IF EXISTS deeplake_compat.ann_vector_type(integer);

-- Workspaces are schemas (owned by the query role); this table holds their display names and creation times.
CREATE TABLE IF NOT EXISTS deeplake_internal.workspaces (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SCHEMA IF NOT EXISTS "default";
INSERT INTO deeplake_internal.workspaces (id, name) VALUES ('default', 'default') ON CONFLICT (id) DO NOTHING;

-- Organizations and their members: bookkeeping only (workspaces do not belong to one). The built-in
-- organization `local`, with the local user as its admin, is (re)created at every start.
CREATE TABLE IF NOT EXISTS deeplake_internal.organizations (
    id text PRIMARY KEY,
    name text NOT NULL,
    creator text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS deeplake_internal.members (
    org_id text NOT NULL REFERENCES deeplake_internal.organizations (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id),
    UNIQUE (org_id, email)
);
INSERT INTO deeplake_internal.organizations (id, name, creator, created_at)
    SELECT 'local', 'Local Organization', 'local-user', created_at
    FROM deeplake_internal.workspaces WHERE id = 'default'
    ON CONFLICT (id) DO NOTHING;
INSERT INTO deeplake_internal.members (org_id, user_id, name, email, role)
    VALUES ('local', 'local-user', 'Local User', 'local@localhost', 'admin')
    ON CONFLICT DO NOTHING;

-- Deep Lake options of each deeplake_index stand-in, keyed by the index, so renames follow.
CREATE TABLE IF NOT EXISTS deeplake_internal.indexes (
    index_oid oid PRIMARY KEY,
    columns text[] NOT NULL,
    sort_order text NOT NULL CHECK (sort_order IN ('ASC', 'DESC')),
    index_type text,
    dimension integer CHECK (dimension > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Vector search (see _indexes.py). A deeplake_index on a float4[] column gets a companion pgvector HNSW
-- index (cosine distance), and one for L2 distance when a search first ranks by `<->`, on the expression below: the vector when it is 1-D with the index's
-- dimension N, else NULL (HNSW skips NULLs, and zero vectors), as vector(N) up to 2000 dimensions (a
-- quantized index type's cosine companion: scaled to length 1, as halfvec(N)), in half precision up to
-- 4000; beyond that there is no companion and searches stay exact.
CREATE OR REPLACE FUNCTION deeplake_compat.ann_vector(a float4[], n integer)
    RETURNS deeplake_compat.vector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN array_ndims(a) = 1 AND array_length(a, 1) = n THEN a::deeplake_compat.vector END;

-- Servers of other versions may share a data directory and run their own copy of this script: columns
-- are only ever added to tables, and views keep their columns (CREATE OR REPLACE VIEW cannot drop any).

-- One row per vector deeplake_index stand-in. dimension is NULL until known (WITH (dimension = N),
-- else the most common length of the column's vectors); companion_oid is the (cosine) HNSW index once
-- built, error says why it could not be built (searches then stay exact); l2_companion_oid and l2_error
-- the same for the L2 HNSW index, built on the first `<->` search.
CREATE TABLE IF NOT EXISTS deeplake_internal.ann_indexes (
    index_oid oid PRIMARY KEY,
    dimension integer CHECK (dimension > 0),
    companion_oid oid UNIQUE,
    error text
);
ALTER TABLE deeplake_internal.ann_indexes
    ADD COLUMN IF NOT EXISTS l2_companion_oid oid UNIQUE,
    ADD COLUMN IF NOT EXISTS l2_error text;

CREATE OR REPLACE VIEW deeplake_compat.deeplake_indexes AS
    SELECT n.nspname AS schema_name, t.relname AS table_name, c.relname AS index_name,
           d.columns, d.sort_order, d.index_type, d.dimension, d.created_at,
           h.relname AS ann_index,
           CASE WHEN a.index_oid IS NULL THEN NULL
                WHEN a.companion_oid IS NOT NULL THEN 'ready'
                WHEN a.error IS NOT NULL THEN 'failed: ' || a.error
                ELSE 'pending' END AS ann_status,
           a.dimension AS ann_dimension
    FROM deeplake_internal.indexes d
    JOIN pg_index i ON i.indexrelid = d.index_oid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN deeplake_internal.ann_indexes a ON a.index_oid = d.index_oid
    LEFT JOIN pg_class h ON h.oid = a.companion_oid;

-- Dropping an index or a workspace schema, however it happens (also by the query role), removes its
-- bookkeeping. It runs with its owner's rights (the query role has none on these tables) and reads
-- nothing but the event's own list of dropped objects.
CREATE OR REPLACE FUNCTION deeplake_internal.forget_dropped_objects()
    RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    companion oid;
BEGIN
    -- A vector stand-in takes its HNSW companions along (unless the same command dropped them, e.g. DROP
    -- TABLE); dropping only a companion leaves the stand-in with exact search by that distance.
    FOR companion IN
        SELECT c FROM deeplake_internal.ann_indexes a, LATERAL (VALUES (a.companion_oid), (a.l2_companion_oid)) v(c)
        WHERE a.index_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index')
          AND c IS NOT NULL
    LOOP
        IF EXISTS (SELECT FROM pg_class WHERE oid = companion) THEN
            EXECUTE format('DROP INDEX %s', companion::regclass);
        END IF;
    END LOOP;
    DELETE FROM deeplake_internal.ann_indexes
    WHERE index_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
    UPDATE deeplake_internal.ann_indexes SET companion_oid = NULL, error = 'its vector index was dropped'
    WHERE companion_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
    UPDATE deeplake_internal.ann_indexes SET l2_companion_oid = NULL, l2_error = 'its vector index was dropped'
    WHERE l2_companion_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
    DELETE FROM deeplake_internal.indexes
    WHERE index_oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
    DELETE FROM deeplake_internal.workspaces
    WHERE id IN (SELECT object_name FROM pg_event_trigger_dropped_objects() WHERE object_type = 'schema');
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'deeplake_forget_dropped_objects') THEN
        CREATE EVENT TRIGGER deeplake_forget_dropped_objects ON sql_drop
            EXECUTE FUNCTION deeplake_internal.forget_dropped_objects();
    END IF;
END $$;

-- pg_indexes as Deep Lake shows it: a deeplake_index stand-in with its recorded options
-- (`… USING deeplake_index (content) WITH (index_type=bm25)`) instead of the stand-in's `WHERE false`,
-- and without the HNSW companions of vector stand-ins (pg_catalog.pg_indexes lists them).
-- The local API points an unqualified `pg_indexes` in a statement at this view.
CREATE OR REPLACE FUNCTION deeplake_compat.reloption_value(value text)
    RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN quote_ident(value) = value THEN value ELSE quote_literal(value) END;
CREATE OR REPLACE VIEW deeplake_compat.pg_indexes AS
    SELECT n.nspname AS schemaname, c.relname AS tablename, i.relname AS indexname, t.spcname AS tablespace,
           CASE WHEN d.index_oid IS NULL THEN pg_get_indexdef(i.oid)
                ELSE regexp_replace(pg_get_indexdef(i.oid), ' WHERE false$', '')
                     || coalesce(' WITH (' || nullif(concat_ws(', ',
                            'index_type=' || deeplake_compat.reloption_value(d.index_type),
                            'dimension=' || deeplake_compat.reloption_value(d.dimension::text)), '') || ')', '')
           END AS indexdef
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_tablespace t ON t.oid = i.reltablespace
    LEFT JOIN deeplake_internal.indexes d ON d.index_oid = i.oid
    WHERE c.relkind IN ('r', 'm', 'p') AND i.relkind IN ('i', 'I')
      AND NOT EXISTS (SELECT FROM deeplake_internal.ann_indexes a WHERE i.oid IN (a.companion_oid, a.l2_companion_oid));

-- What the first statement of every transaction of the query role (see _executor.py) calls when the
-- workspace is not a schema the role owns: it raises SQLSTATE DL404, so that the statements sent with it
-- in one round trip do not run.
CREATE OR REPLACE FUNCTION deeplake_compat.workspace_not_found(workspace text)
    RETURNS text LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'DL404', MESSAGE = pg_catalog.format('workspace ''%s'' not found', workspace);
END $$;

-- What every transaction of the query role runs before any statement the server keeps prepared on the
-- connection (see _executor.py): those are made with the protocol, so one made by SQL (PREPARE) could stand
-- in for one of them under its name (DEALLOCATE, then PREPARE). It raises SQLSTATE DL409 when the session
-- holds any; the server then clears the session (DISCARD ALL) and sends the round trip again, nothing sent
-- after it having run.
CREATE OR REPLACE FUNCTION deeplake_compat.check_prepared_statements()
    RETURNS void LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql) THEN
        RAISE EXCEPTION USING ERRCODE = 'DL409', MESSAGE = 'the session holds prepared statements made by SQL';
    END IF;
END $$;

-- What every transaction of the query role runs first: the clean-up of whatever the connection's last user
-- left (DISCARD ALL but for the prepared statements, which it would drop), then the check above, in one
-- statement rather than six. (Servers before it send the six themselves; they may share the data directory.)
CREATE OR REPLACE FUNCTION deeplake_compat.reset_session()
    RETURNS void LANGUAGE sql VOLATILE
    AS $$
    RESET ALL;
    CLOSE ALL;
    UNLISTEN *;
    DISCARD TEMP;
    DISCARD SEQUENCES;
    SELECT deeplake_compat.check_prepared_statements();
$$;

-- Privileges. The query role uses the compat schema and reads its two views; nothing else of ours.
REVOKE ALL ON SCHEMA deeplake_compat, deeplake_internal FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA deeplake_compat, deeplake_internal FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA deeplake_internal FROM PUBLIC;
DO $$
DECLARE
    query_role text := current_setting('deeplake.query_role');
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA deeplake_compat TO %I', query_role);
    EXECUTE format('GRANT SELECT ON deeplake_compat.deeplake_indexes, deeplake_compat.pg_indexes TO %I', query_role);
END $$;

-- Built-in functions nobody but a superuser may call here: state changes that a READ ONLY transaction
-- does not stop (statistics, index summaries, WAL messages, XIDs, the random seed, which outlives the
-- session reset), SQL run from a text argument, signals to other sessions, and session-level locks.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace AND (
            p.proname IN ('setseed', 'pg_restore_relation_stats', 'pg_restore_attribute_stats',
                          'pg_clear_relation_stats', 'pg_clear_attribute_stats', 'brin_summarize_new_values',
                          'brin_summarize_range', 'brin_desummarize_range', 'gin_clean_pending_list',
                          'pg_logical_emit_message', 'txid_current', 'txid_current_if_assigned',
                          'pg_current_xact_id', 'pg_current_xact_id_if_assigned', 'query_to_xml',
                          'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'cursor_to_xml',
                          'cursor_to_xmlschema', 'ts_stat', 'pg_cancel_backend', 'pg_terminate_backend',
                          'pg_import_system_collations', 'pg_export_snapshot')
            OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%'
            OR p.proname LIKE 'lo\_%' OR p.proname IN ('loread', 'lowrite')
            OR p.proname LIKE '%replication\_slot%' OR p.proname LIKE 'pg\_replication\_origin\_%'
            OR (p.proname = 'ts_rewrite' AND p.pronargs = 2))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;

-- Every workspace schema, and everything in it, belongs to the query role (earlier versions left them
-- to the superuser).
DO $$
DECLARE
    query_role text := current_setting('deeplake.query_role');
    ws text;
    rel regclass;
BEGIN
    FOR ws IN SELECT id FROM deeplake_internal.workspaces WHERE to_regnamespace(quote_ident(id)) IS NOT NULL LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', ws, query_role);
        FOR rel IN
            SELECT c.oid FROM pg_class c
            WHERE c.relnamespace = to_regnamespace(quote_ident(ws)) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND c.relowner <> to_regrole(quote_ident(query_role))
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('a', 'i'))
        LOOP
            EXECUTE format('ALTER TABLE %s OWNER TO %I', rel, query_role);
        END LOOP;
    END LOOP;
END $$;
