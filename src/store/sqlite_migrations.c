/* sqlite_migrations.c - the SQLite schema, as an ordered list of forward
 * migrations. Never edit an entry that has shipped: append a new one with
 * the next version number. Each runs in its own transaction together with
 * the schema_version update, so a crash leaves the schema at a version
 * boundary. Tables are STRICT; `seq` columns are AUTOINCREMENT so paging
 * cursors are never reused. */
#include "store/sqlite_int.h"

const struct sq_migration sq_migrations[] = {
        {1, "identity: tenants, tokens, audit, tenant CAs, meta",
         "CREATE TABLE meta ("
         "  key TEXT PRIMARY KEY,"
         "  value TEXT NOT NULL) STRICT;"
         "CREATE TABLE tenants ("
         "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  id TEXT NOT NULL UNIQUE,"
         "  name TEXT NOT NULL UNIQUE,"
         "  created_ms INTEGER NOT NULL) STRICT;"
         "CREATE TABLE tokens ("
         "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  id TEXT NOT NULL UNIQUE,"
         "  tenant_id TEXT NOT NULL,"       /* '' = platform token */
         "  name TEXT NOT NULL,"
         "  role INTEGER NOT NULL,"
         "  hash BLOB NOT NULL UNIQUE,"
         "  created_ms INTEGER NOT NULL,"
         "  expires_ms INTEGER NOT NULL,"
         "  revoked_ms INTEGER NOT NULL,"
         "  created_by TEXT NOT NULL) STRICT;"
         "CREATE INDEX tokens_by_tenant ON tokens(tenant_id, seq);"
         "CREATE TABLE audit ("
         "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  at_ms INTEGER NOT NULL,"
         "  tenant_id TEXT NOT NULL,"
         "  actor TEXT NOT NULL,"
         "  action TEXT NOT NULL,"
         "  method TEXT NOT NULL,"
         "  path TEXT NOT NULL,"
         "  target TEXT NOT NULL,"
         "  status INTEGER NOT NULL,"
         "  detail TEXT NOT NULL) STRICT;"
         "CREATE INDEX audit_by_tenant ON audit(tenant_id, seq);"
         "CREATE TABLE tenant_cas ("
         "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  id TEXT NOT NULL UNIQUE,"
         "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
         "  generation INTEGER NOT NULL,"
         "  state TEXT NOT NULL CHECK (state IN ('current', 'next', 'retired')),"
         "  cert_pem TEXT NOT NULL,"
         "  key_sealed BLOB NOT NULL,"
         "  not_before_ms INTEGER NOT NULL,"
         "  not_after_ms INTEGER NOT NULL,"
         "  created_ms INTEGER NOT NULL,"
         "  UNIQUE (tenant_id, generation)) STRICT;"
         "CREATE UNIQUE INDEX tenant_cas_one_current ON tenant_cas(tenant_id) WHERE state = 'current';"
         "CREATE UNIQUE INDEX tenant_cas_one_next ON tenant_cas(tenant_id) WHERE state = 'next';"},
        /* Later entities append their migrations here: {2, "...", "..."}, ... */
};
const size_t sq_n_migrations = sizeof(sq_migrations) / sizeof(sq_migrations[0]);
