#include "persistence/migrations.hpp"

#include "persistence/database.hpp"
#include "persistence/event.hpp"

#include <soci/soci.h>

#include <string>
#include <vector>

namespace regevent {

namespace {

/// One schema step. `{pk}` stands for the dialect's auto-increment primary
/// key, `{without_rowid}` for SQLite's table option (nothing on
/// PostgreSQL); a statement that starts with `{sqlite}` runs on SQLite only
/// (its storage layout has no PostgreSQL counterpart).
struct migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
};

const std::vector<migration>& migrations() {
  static const std::vector<migration> all{
      {1,
       "event journal, effect marks, dead letters",
       {
           R"(CREATE TABLE events (
            seq {pk},
            id TEXT NOT NULL UNIQUE,
            received_at BIGINT NOT NULL,
            event_time BIGINT NOT NULL,
            action TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '',
            digest TEXT NOT NULL DEFAULT '',
            media_type TEXT NOT NULL DEFAULT '',
            size BIGINT NOT NULL DEFAULT 0,
            method TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT '',
            actor TEXT NOT NULL DEFAULT '',
            client_addr TEXT NOT NULL DEFAULT '',
            source_addr TEXT NOT NULL DEFAULT '',
            raw TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            reason TEXT NOT NULL DEFAULT '',
            claimed_by TEXT NOT NULL DEFAULT '',
            claim_expires BIGINT NOT NULL DEFAULT 0,
            finished_at BIGINT NOT NULL DEFAULT 0))",
           "CREATE INDEX events_pending ON events (seq) WHERE status = "
           "'pending'",
           "CREATE INDEX events_status ON events (status)",
           R"(CREATE TABLE event_effects (
            event_id TEXT NOT NULL,
            effect TEXT NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (event_id, effect)))",
           R"(CREATE TABLE dead_letters (
            id {pk},
            event_id TEXT NOT NULL,
            effect TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            replayed_at BIGINT NOT NULL DEFAULT 0))",
           "CREATE INDEX dead_letters_event ON dead_letters (event_id)",
       }},
      {2,
       "projects, repositories, pull counts, artifacts, tags, access logs",
       {
           R"(CREATE TABLE projects (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            public INTEGER NOT NULL DEFAULT 0,
            auto_scan INTEGER NOT NULL DEFAULT 0,
            creation_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL))",
           R"(CREATE TABLE repositories (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            project TEXT NOT NULL,
            creation_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL))",
           "CREATE INDEX repositories_project ON repositories (project, name)",
           R"(CREATE TABLE pull_counts (
            repository TEXT PRIMARY KEY,
            pull_count BIGINT NOT NULL DEFAULT 0,
            last_pull BIGINT NOT NULL DEFAULT 0))",
           R"(CREATE TABLE artifacts (
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL DEFAULT '',
            size BIGINT NOT NULL DEFAULT 0,
            push_time BIGINT NOT NULL DEFAULT 0,
            pull_time BIGINT NOT NULL DEFAULT 0,
            deleted_at BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (repository, digest)))",
           R"(CREATE TABLE tags (
            repository TEXT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL DEFAULT '',
            push_time BIGINT NOT NULL DEFAULT 0,
            pull_time BIGINT NOT NULL DEFAULT 0,
            deleted_at BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (repository, name)))",
           "CREATE INDEX tags_digest ON tags (repository, digest)",
           R"(CREATE TABLE access_logs (
            id {pk},
            event_id TEXT NOT NULL,
            username TEXT NOT NULL,
            project TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '',
            digest TEXT NOT NULL DEFAULT '',
            operation TEXT NOT NULL,
            op_time BIGINT NOT NULL,
            client_addr TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT ''))",
           "CREATE INDEX access_logs_time ON access_logs (op_time)",
           "CREATE INDEX access_logs_repository ON access_logs (repository)",
       }},
      {3,
       "instance heartbeats",
       {
           R"(CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            started_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL))",
       }},
      {4,
       "pending events indexed apart by whether they are claimed",
       {
           // Claims look for unclaimed rows on every wakeup; with one index
           // over all pending rows they walked past every row live ingest
           // had claimed (thousands under load). Each pending row is in
           // exactly one of these, and in none once finished.
           "CREATE INDEX events_unclaimed ON events (seq) WHERE status = "
           "'pending' AND claimed_by = ''",
           "CREATE INDEX events_claimed ON events (seq) WHERE status = "
           "'pending' AND claimed_by <> ''",
           "DROP INDEX events_pending",
           // Only the status counts for metrics read it, and a full count
           // now runs rarely and off the writer; every append and finish
           // paid for it, and SQLite's planner chose it over the partial
           // indexes above.
           "DROP INDEX events_status",
       }},
      {5,
       "effect marks stored in their primary key",
       {
           // A rowid table keeps every mark twice: in the table and in the
           // index of its primary key. WITHOUT ROWID keeps it once, in key
           // order, which is also the order marks are looked up in.
           "{sqlite}CREATE TABLE event_effects_keyed (event_id TEXT NOT NULL, "
           "effect TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY "
           "(event_id, effect)) WITHOUT ROWID",
           "{sqlite}INSERT INTO event_effects_keyed SELECT event_id, effect, "
           "applied_at FROM event_effects",
           "{sqlite}DROP TABLE event_effects",
           "{sqlite}ALTER TABLE event_effects_keyed RENAME TO event_effects",
       }},
      {6,
       "effect marks keyed by the journal's sequence",
       {
           // Keyed by random event ids, every mark landed on a random leaf
           // of the B-tree: the largest share of the writer's time and of
           // the WAL. Keyed by seq, the marks of a batch are appended at
           // the right edge of the tree.
           "CREATE TABLE effect_marks (event_seq BIGINT NOT NULL, effect TEXT "
           "NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (event_seq, "
           "effect)){without_rowid}",
           "INSERT INTO effect_marks (event_seq, effect, applied_at) SELECT "
           "e.seq, m.effect, m.applied_at FROM event_effects m JOIN events e "
           "ON e.id = m.event_id",
           "DROP TABLE event_effects",
       }},
      {7,
       "webhook policies and their targets",
       {
           R"(CREATE TABLE webhook_policies (
            id {pk},
            project TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            enabled BIGINT NOT NULL DEFAULT 1,
            event_types TEXT NOT NULL,
            creation_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL,
            UNIQUE (project, name)))",
           // auth_header and secret hold values sealed by secret_box.
           R"(CREATE TABLE webhook_targets (
            policy_id BIGINT NOT NULL,
            position BIGINT NOT NULL,
            type TEXT NOT NULL,
            address TEXT NOT NULL,
            auth_header TEXT NOT NULL DEFAULT '',
            secret TEXT NOT NULL DEFAULT '',
            skip_cert_verify BIGINT NOT NULL DEFAULT 0,
            payload_format TEXT NOT NULL,
            disabled_reason TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (policy_id, position)))",
       }},
      {8,
       "webhook deliveries (an outbox) and their attempts",
       {
           // One row per (event, policy, target), written in the event's
           // effect transaction. webhook_id is what receivers deduplicate
           // on; a claim moves next_attempt_at past the lease, so a worker
           // that dies leaves its deliveries due again when it expires.
           R"(CREATE TABLE webhook_tasks (
            id {pk},
            webhook_id TEXT NOT NULL UNIQUE,
            event_seq BIGINT NOT NULL,
            policy_id BIGINT NOT NULL,
            target_position BIGINT NOT NULL,
            event_type TEXT NOT NULL,
            project TEXT NOT NULL,
            repository TEXT NOT NULL DEFAULT '',
            tag TEXT NOT NULL DEFAULT '',
            digest TEXT NOT NULL DEFAULT '',
            operator TEXT NOT NULL DEFAULT '',
            occur_at BIGINT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts BIGINT NOT NULL DEFAULT 0,
            retry_base BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            last_status_code BIGINT NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            last_latency_us BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
           // Claims go target by target: each reads its own oldest due
           // deliveries, so one target's backlog never hides another's.
           "CREATE INDEX webhook_tasks_due ON webhook_tasks (policy_id, "
           "target_position, next_attempt_at) WHERE status = 'pending'",
           "CREATE INDEX webhook_tasks_policy ON webhook_tasks (policy_id, id)",
           "CREATE INDEX webhook_tasks_finished ON webhook_tasks (updated_at) "
           "WHERE status <> 'pending'",
           R"(CREATE TABLE webhook_attempts (
            task_id BIGINT NOT NULL,
            attempt BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            status_code BIGINT NOT NULL,
            error TEXT NOT NULL,
            latency_us BIGINT NOT NULL,
            PRIMARY KEY (task_id, attempt)){without_rowid})",
       }},
      {9,
       "a CA file per webhook target",
       {
           "ALTER TABLE webhook_targets ADD COLUMN ca_file TEXT NOT NULL "
           "DEFAULT ''",
       }},
      {10,
       "registries and replication policies",
       {
           // access_secret holds a value sealed by secret_box.
           R"(CREATE TABLE registries (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            type TEXT NOT NULL,
            url TEXT NOT NULL,
            insecure BIGINT NOT NULL DEFAULT 0,
            ca_file TEXT NOT NULL DEFAULT '',
            credential_type TEXT NOT NULL DEFAULT '',
            access_key TEXT NOT NULL DEFAULT '',
            access_secret TEXT NOT NULL DEFAULT '',
            creation_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL))",
           R"(CREATE TABLE replication_policies (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            enabled BIGINT NOT NULL DEFAULT 1,
            dest_registry_id BIGINT NOT NULL,
            dest_namespace TEXT NOT NULL DEFAULT '',
            dest_namespace_replace_count BIGINT NOT NULL DEFAULT -1,
            trigger_type TEXT NOT NULL,
            override_tags BIGINT NOT NULL DEFAULT 1,
            deletion BIGINT NOT NULL DEFAULT 0,
            speed_kib BIGINT NOT NULL DEFAULT 0,
            creation_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL))",
           "CREATE INDEX replication_policies_registry ON "
           "replication_policies (dest_registry_id)",
           R"(CREATE TABLE replication_filters (
            policy_id BIGINT NOT NULL,
            position BIGINT NOT NULL,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (policy_id, position)))",
       }},
      {11,
       "replication executions and tasks",
       {
           // One execution per (policy, event) for the event-based trigger
           // (event_seq unique with the policy: a redelivered event never
           // starts a second one), or per manual run (event_seq 0).
           // `listing` marks a manual run whose tasks the workers still
           // have to list from the source; its lease is `next_attempt_at`.
           R"(CREATE TABLE replication_executions (
            id {pk},
            policy_id BIGINT NOT NULL,
            trigger_type TEXT NOT NULL,
            event_seq BIGINT NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            status_text TEXT NOT NULL DEFAULT '',
            listing BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL DEFAULT 0,
            start_time BIGINT NOT NULL,
            end_time BIGINT NOT NULL DEFAULT 0))",
           "CREATE UNIQUE INDEX replication_executions_event ON "
           "replication_executions (policy_id, event_seq) WHERE event_seq "
           "> 0",
           "CREATE INDEX replication_executions_policy ON "
           "replication_executions (policy_id, id)",
           "CREATE INDEX replication_executions_listing ON "
           "replication_executions (next_attempt_at) WHERE listing = 1",
           // Harbor's task states: Pending, InProgress, Succeed, Failed
           // (and Stopped, from migration 13 on).
           // While InProgress, `next_attempt_at` is the claim's lease (and
           // its token: an outcome is recorded only under the lease it was
           // claimed with). `repo_key` (destination registry and
           // repository) orders a repository's tasks: only the oldest
           // unfinished one of a key is ever claimed.
           R"(CREATE TABLE replication_tasks (
            id {pk},
            execution_id BIGINT NOT NULL,
            policy_id BIGINT NOT NULL,
            operation TEXT NOT NULL,
            repo_key TEXT NOT NULL,
            src_repository TEXT NOT NULL,
            src_reference TEXT NOT NULL,
            digest TEXT NOT NULL DEFAULT '',
            dest_registry_id BIGINT NOT NULL,
            dst_repository TEXT NOT NULL,
            dst_reference TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            retry_base BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            bytes_copied BIGINT NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            skipped TEXT NOT NULL DEFAULT '',
            start_time BIGINT NOT NULL DEFAULT 0,
            end_time BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
           "CREATE INDEX replication_tasks_execution ON replication_tasks "
           "(execution_id, id)",
           "CREATE INDEX replication_tasks_due ON replication_tasks "
           "(next_attempt_at, id) WHERE status IN ('Pending', 'InProgress')",
           "CREATE INDEX replication_tasks_repo ON replication_tasks "
           "(repo_key, id) WHERE status IN ('Pending', 'InProgress')",
       }},
      {12,
       "REPLICATION webhook deliveries name their execution",
       {
           // Not 0: a REPLICATION delivery; its payload is read from the
           // execution when it is sent.
           "ALTER TABLE webhook_tasks ADD COLUMN replication_execution "
           "BIGINT NOT NULL DEFAULT 0",
       }},
      {13,
       "ended replication executions are found by age for retention, and "
       "stopped tasks by repository",
       {
           "CREATE INDEX replication_executions_ended ON "
           "replication_executions (end_time) WHERE end_time > 0",
           // A task stopped in flight holds its repository until its lease
           // expires (replication_work_store::claim).
           "CREATE INDEX replication_tasks_stopped ON replication_tasks "
           "(repo_key, next_attempt_at) WHERE status = 'Stopped'",
           // The purge keeps an execution a REPLICATION delivery waits for.
           "CREATE INDEX webhook_tasks_replication ON webhook_tasks "
           "(replication_execution) WHERE replication_execution > 0",
       }},
      {14,
       "scanner registrations and the scanner of each project",
       {
           // Harbor's ScannerRegistration; `access_credential` is sealed
           // (secret_box), empty when there is none.
           R"(CREATE TABLE scanners (
            id {pk},
            uuid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL,
            auth TEXT NOT NULL DEFAULT '',
            access_credential TEXT NOT NULL DEFAULT '',
            skip_cert_verify INTEGER NOT NULL DEFAULT 0,
            use_internal_addr INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            is_default INTEGER NOT NULL DEFAULT 0,
            create_time BIGINT NOT NULL,
            update_time BIGINT NOT NULL))",
           // A project without a row here uses the default scanner.
           R"(CREATE TABLE project_scanners (
            project TEXT PRIMARY KEY,
            scanner_uuid TEXT NOT NULL))",
       }},
      {15,
       "scan tasks and their reports; SCANNING webhook deliveries name "
       "their scan",
       {
           // The scanning effect's outbox (event_seq > 0, one per push) and
           // manual scans (event_seq 0). The latest ended task of a
           // (digest, scanner) is the artifact's report; older ones go
           // when a newer one ends.
           R"(CREATE TABLE scan_tasks (
            id {pk},
            event_seq BIGINT NOT NULL DEFAULT 0,
            trigger_type TEXT NOT NULL,
            project TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '',
            media_type TEXT NOT NULL DEFAULT '',
            scanner_uuid TEXT NOT NULL,
            report_id TEXT NOT NULL UNIQUE,
            report_mime TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            request_id TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT NOT NULL DEFAULT 0,
            submitted_at BIGINT NOT NULL DEFAULT 0,
            create_time BIGINT NOT NULL,
            start_time BIGINT NOT NULL DEFAULT 0,
            end_time BIGINT NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            severity TEXT NOT NULL DEFAULT '',
            total INTEGER NOT NULL DEFAULT 0,
            fixable INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '',
            scanner_name TEXT NOT NULL DEFAULT '',
            scanner_vendor TEXT NOT NULL DEFAULT '',
            scanner_version TEXT NOT NULL DEFAULT ''))",
           "CREATE UNIQUE INDEX scan_tasks_event ON scan_tasks (event_seq) "
           "WHERE event_seq > 0",
           "CREATE INDEX scan_tasks_due ON scan_tasks (next_attempt_at) "
           "WHERE status IN ('Pending', 'Running')",
           "CREATE INDEX scan_tasks_artifact ON scan_tasks (digest, "
           "scanner_uuid, id)",
           // One unfinished scan per artifact and scanner: a second push
           // of the same digest, or a scan by hand, while one is queued
           // or running asks the adapter nothing more.
           "CREATE UNIQUE INDEX scan_tasks_unfinished ON scan_tasks "
           "(digest, scanner_uuid) WHERE status IN ('Pending', 'Running')",
           // The adapter's report as it sent it, apart from the task rows
           // the workers scan: a report can be megabytes.
           R"(CREATE TABLE scan_reports (
            task_id BIGINT PRIMARY KEY,
            report TEXT NOT NULL))",
           // Not 0: a SCANNING_* delivery; its overview is read from the
           // task when it is sent.
           "ALTER TABLE webhook_tasks ADD COLUMN scan_task BIGINT NOT NULL "
           "DEFAULT 0",
           // A scan a delivery names is kept (see scan_work_store::end).
           "CREATE INDEX webhook_tasks_scan ON webhook_tasks (scan_task) "
           "WHERE scan_task > 0",
       }},
      {16,
       "catalog rows seen without a push, reconcile runs",
       {
           // `alive_at` is the latest time an artifact or tag was seen to
           // exist: its push, a pull, or a reconcile reading it in the
           // registry. It is visible while that is later than its deletion,
           // so an image only ever pulled (pushed before regevent ran)
           // shows, and a reconcile can bring back what a lost push left
           // out, without inventing a push time.
           "ALTER TABLE artifacts ADD COLUMN alive_at BIGINT NOT NULL "
           "DEFAULT 0",
           // Rows written before keep exactly what they showed: visible
           // while pushed after their deletion (pulls stored no media type
           // or size then, so a pulled-only row stays hidden until pulled
           // again).
           "UPDATE artifacts SET alive_at = push_time",
           "ALTER TABLE artifacts ADD COLUMN imported_at BIGINT NOT NULL "
           "DEFAULT 0",
           "ALTER TABLE tags ADD COLUMN alive_at BIGINT NOT NULL DEFAULT 0",
           // The tag's digest is a register keyed by the time it was
           // learned: a push, or a reconcile that read the tag pointing
           // elsewhere. Pulls do not move it.
           "ALTER TABLE tags ADD COLUMN digest_at BIGINT NOT NULL DEFAULT 0",
           "UPDATE tags SET alive_at = push_time, digest_at = push_time",
           "ALTER TABLE tags ADD COLUMN imported_at BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE repositories ADD COLUMN imported_at BIGINT NOT NULL "
           "DEFAULT 0",
           // One run at a time across instances: at most one row is
           // unfinished ('pending' or 'running'), and a running one is held
           // by `instance` until `lease_until`.
           R"(CREATE TABLE reconcile_runs (
            id {pk},
            run_trigger TEXT NOT NULL,
            status TEXT NOT NULL,
            instance TEXT NOT NULL DEFAULT '',
            lease_until BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            started_at BIGINT NOT NULL DEFAULT 0,
            finished_at BIGINT NOT NULL DEFAULT 0,
            repositories_total BIGINT NOT NULL DEFAULT 0,
            repositories_walked BIGINT NOT NULL DEFAULT 0,
            repositories_created BIGINT NOT NULL DEFAULT 0,
            created BIGINT NOT NULL DEFAULT 0,
            deleted BIGINT NOT NULL DEFAULT 0,
            corrected BIGINT NOT NULL DEFAULT 0,
            errors BIGINT NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT ''))",
           // The indexed expression is the same for every unfinished row,
           // so that a second one (pending or running) is a conflict.
           "CREATE UNIQUE INDEX reconcile_runs_unfinished ON reconcile_runs "
           "((status IN ('pending', 'running'))) WHERE status IN ('pending', "
           "'running')",
       }},
      {17,
       "API changes in the audit log: the kind and name of what changed",
       {
           // Rows before are pushes, pulls and deletes of artifacts, which
           // the API shows from repository, tag and digest; an API change
           // (who changed a policy, registry or scanner) names its
           // resource here instead.
           "ALTER TABLE access_logs ADD COLUMN resource_type TEXT NOT NULL "
           "DEFAULT 'artifact'",
           "ALTER TABLE access_logs ADD COLUMN resource TEXT NOT NULL "
           "DEFAULT ''",
       }},
      {18,
       "Harbor ids of artifacts and tags, repository descriptions, project "
       "metadata, artifact details read from the registry",
       {
           // Harbor's Artifact and Tag carry numeric ids (a tag names its
           // artifact's), which a rowid would not keep stable (SQLite's
           // VACUUM renumbers rowids of a table without an integer key),
           // so both tables are rebuilt with one; (repository, digest) and
           // (repository, name) stay the keys every write upserts on.
           R"(CREATE TABLE artifacts_v18 (
            id {pk},
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL DEFAULT '',
            size BIGINT NOT NULL DEFAULT 0,
            push_time BIGINT NOT NULL DEFAULT 0,
            pull_time BIGINT NOT NULL DEFAULT 0,
            deleted_at BIGINT NOT NULL DEFAULT 0,
            alive_at BIGINT NOT NULL DEFAULT 0,
            imported_at BIGINT NOT NULL DEFAULT 0,
            UNIQUE (repository, digest)))",
           "INSERT INTO artifacts_v18 (repository, digest, media_type, size, "
           "push_time, pull_time, deleted_at, alive_at, imported_at) SELECT "
           "repository, digest, media_type, size, push_time, pull_time, "
           "deleted_at, alive_at, imported_at FROM artifacts ORDER BY "
           "push_time, repository, digest",
           "DROP TABLE artifacts",
           "ALTER TABLE artifacts_v18 RENAME TO artifacts",
           R"(CREATE TABLE tags_v18 (
            id {pk},
            repository TEXT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL DEFAULT '',
            push_time BIGINT NOT NULL DEFAULT 0,
            pull_time BIGINT NOT NULL DEFAULT 0,
            deleted_at BIGINT NOT NULL DEFAULT 0,
            alive_at BIGINT NOT NULL DEFAULT 0,
            digest_at BIGINT NOT NULL DEFAULT 0,
            imported_at BIGINT NOT NULL DEFAULT 0,
            UNIQUE (repository, name)))",
           "INSERT INTO tags_v18 (repository, name, digest, push_time, "
           "pull_time, deleted_at, alive_at, digest_at, imported_at) SELECT "
           "repository, name, digest, push_time, pull_time, deleted_at, "
           "alive_at, digest_at, imported_at FROM tags ORDER BY push_time, "
           "repository, name",
           "DROP TABLE tags",
           "ALTER TABLE tags_v18 RENAME TO tags",
           "CREATE INDEX tags_digest ON tags (repository, digest)",
           // Set with PUT .../repositories/{name}, as in Harbor.
           "ALTER TABLE repositories ADD COLUMN description TEXT NOT NULL "
           "DEFAULT ''",
           // Harbor's ProjectMetadata keys regevent keeps but does not act
           // on, as a JSON object of strings; `public` and `auto_scan`
           // keep their columns.
           "ALTER TABLE projects ADD COLUMN metadata TEXT NOT NULL DEFAULT "
           "'{}'",
           // What a notification does not say about an artifact, read from
           // the registry's manifest and image config once: Harbor's
           // media_type (the config's), artifact_type, extra_attrs,
           // annotations, references (an index's children with their
           // platforms, a JSON array) and size (manifest, config and
           // layers). `status` 'done' or 'failed'; a failed read is tried
           // again from `next_attempt_at`.
           R"(CREATE TABLE artifact_details (
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            status TEXT NOT NULL,
            config_media_type TEXT NOT NULL DEFAULT '',
            artifact_type TEXT NOT NULL DEFAULT '',
            extra_attrs TEXT NOT NULL DEFAULT '{}',
            annotations TEXT NOT NULL DEFAULT '{}',
            refs TEXT NOT NULL DEFAULT '[]',
            size BIGINT NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            fetched_at BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (repository, digest)))",
       }},
  };
  return all;
}

std::string dialect(const char* statement, database::backend_kind kind) {
  std::string sql = statement;
  const std::string token = "{pk}";
  const char* pk = kind == database::backend_kind::sqlite
                       ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                       : "BIGSERIAL PRIMARY KEY";
  for (auto pos = sql.find(token); pos != std::string::npos;
       pos = sql.find(token))
    sql.replace(pos, token.size(), pk);
  const std::string without_rowid = "{without_rowid}";
  if (auto pos = sql.find(without_rowid); pos != std::string::npos)
    sql.replace(pos, without_rowid.size(),
                kind == database::backend_kind::sqlite ? " WITHOUT ROWID" : "");
  return sql;
}

/// An arbitrary constant that names regevent's migration lock.
constexpr long long migration_lock_key = 0x72656765766e74;

} // namespace

void ensure_project(database& db, const std::string& name) {
  long long now = now_us();
  db.session() << "INSERT INTO projects (name, public, creation_time, "
                  "update_time) VALUES (:n, 1, :c, :u) ON CONFLICT (name) "
                  "DO NOTHING",
      soci::use(name), soci::use(now), soci::use(now);
}

int schema_version() {
  return migrations().back().version;
}

schema_too_new::schema_too_new(int found, int known)
    : std::runtime_error(
        "the database's schema is at version " + std::to_string(found)
        + ", newer than version " + std::to_string(known)
        + ", the newest this regeventd knows: run a regeventd at least as "
          "new as the one that migrated it"),
      found(found),
      known(known) {}

migration_summary migrate_schema(database& db) {
  migration_summary summary;
  auto& sql = db.session();
  const bool pg = db.backend() == database::backend_kind::postgresql;
  if (pg)
    sql << "SELECT pg_advisory_lock(:k)", soci::use(migration_lock_key);
  try {
    sql << "CREATE TABLE IF NOT EXISTS schema_migrations ("
           "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
           "applied_at BIGINT NOT NULL)";
    int current = 0;
    soci::indicator ind = soci::i_ok;
    sql << "SELECT MAX(version) FROM schema_migrations",
        soci::into(current, ind);
    if (ind == soci::i_null)
      current = 0;
    // An older binary would run against tables it does not know and write
    // rows a newer one cannot read; started by mistake after an upgrade
    // was rolled back, it stops here instead.
    if (current > schema_version())
      throw schema_too_new(current, schema_version());
    summary.from = current;
    summary.to = current;
    for (const auto& m : migrations()) {
      if (m.version <= current)
        continue;
      write_transaction tx(db);
      for (const auto* statement : m.statements) {
        const std::string sqlite_only = "{sqlite}";
        std::string text = statement;
        if (text.rfind(sqlite_only, 0) == 0) {
          if (db.backend() != database::backend_kind::sqlite)
            continue;
          text.erase(0, sqlite_only.size());
        }
        sql << dialect(text.c_str(), db.backend());
      }
      std::string description = m.description;
      long long applied = now_us();
      sql << "INSERT INTO schema_migrations (version, description, "
             "applied_at) VALUES (:v, :d, :t)",
          soci::use(m.version), soci::use(description), soci::use(applied);
      tx.commit();
      summary.to = m.version;
    }
  } catch (...) {
    if (pg)
      sql << "SELECT pg_advisory_unlock(:k)", soci::use(migration_lock_key);
    throw;
  }
  if (pg)
    sql << "SELECT pg_advisory_unlock(:k)", soci::use(migration_lock_key);
  return summary;
}

void migrate(database& db) {
  migrate_schema(db);
}

} // namespace regevent
