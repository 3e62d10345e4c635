#pragma once

/// Every atom and message type of regevent, registered with CAF in one
/// block, with the `inspect()` overloads of the persistence records (the
/// records themselves know nothing of CAF).

#include "actors/runtime.hpp"
#include "actors/writer_job.hpp"
#include "config/effects.hpp"
#include "persistence/catalog.hpp"
#include "persistence/event.hpp"
#include "persistence/reconcile.hpp"
#include "persistence/replication.hpp"
#include "persistence/scan.hpp"
#include "persistence/scanner.hpp"
#include "persistence/webhook.hpp"
#include "persistence/webhook_delivery.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace regevent {

/// An event the dispatcher kept, with what it decided for it: the message
/// form of the record the effect stores apply.
struct planned_event : effect_input {};

/// The requests one effect actor gathered for one commit, on their way to
/// the writer (SQLite's single write connection), which applies them with
/// their completion marks inside its own group commit.
struct effect_batch {
  effect_kind effect = effect_kind::access_log;
  std::vector<planned_event> events;
};

/// What the writer did with an effect batch: `applied[i]` is false where
/// the event's effect was applied before (its mark existed).
struct effect_outcome {
  std::vector<bool> applied;
};

/// A parsed, authenticated notification on its way to the HTTP actor.
struct ingest_request {
  std::vector<event_record> events;
  /// Events in the envelope that were unusable on their own.
  uint32_t ignored = 0;
  reply_fn<ingest_result> done;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_record& x) {
  return f(x.id, x.seq, x.time, x.received, x.action, x.repository, x.tag,
           x.digest, x.media_type, x.size, x.method, x.user_agent, x.actor,
           x.client_addr, x.source_addr, x.raw);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_update& x) {
  return f(x.event_id, x.status, x.reason);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(x.event_id, x.effect, x.error, x.attempts);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, planned_event& x) {
  return f(x.event, x.project, x.count_pull);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_result& x) {
  return f(x.accepted, x.duplicates, x.ignored);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, page_request& x) {
  return f(x.page, x.size);
}

template<class Inspector, class Row>
typename Inspector::result_type inspect(Inspector& f, page_of<Row>& x) {
  return f(x.items, x.total);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, project_row& x) {
  return f(x.id, x.name, x.is_public, x.auto_scan, x.creation_time,
           x.update_time, x.repo_count, x.metadata);
}

/// How a `q` term's kind shows in CAF's rendering of a message.
inline std::string to_string(query_term::match m) {
  static constexpr const char* names[]
      = {"exact", "fuzzy", "range", "any_of", "all_of"};
  return names[static_cast<uint8_t>(m)];
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_term& x) {
  return f(x.key, x.kind, x.values);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, sort_term& x) {
  return f(x.key, x.descending);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_query& x) {
  return f(x.terms, x.sort);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_target& x) {
  return f(x.type, x.address, x.auth_header, x.secret, x.skip_cert_verify,
           x.ca_file, x.payload_format, x.has_auth_header, x.has_secret,
           x.disabled_reason);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_policy_spec& x) {
  return f(x.project, x.name, x.description, x.enabled, x.event_types,
           x.targets);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_policy& x) {
  return f(static_cast<webhook_policy_spec&>(x), x.id, x.creation_time,
           x.update_time);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_policy_list& x) {
  return f(x.items);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_policy_ref& x) {
  return f(x.project, x.id);
}

template<class Inspector>
typename Inspector::result_type
inspect(Inspector& f, webhook_policy_update& x) {
  return f(x.id, x.spec);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_attempt& x) {
  return f(x.attempt, x.started_at, x.status_code, x.error, x.latency_us);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_execution& x) {
  return f(x.id, x.policy_id, x.webhook_id, x.event_type, x.address, x.status,
           x.attempts, x.last_status_code, x.last_error, x.latency_us,
           x.next_attempt_at, x.created_at, x.updated_at, x.attempt_log);
}

template<class Inspector>
typename Inspector::result_type
inspect(Inspector& f, webhook_execution_query& x) {
  return f(x.project, x.policy_id, x.page, x.page_size);
}

template<class Inspector>
typename Inspector::result_type
inspect(Inspector& f, webhook_execution_page& x) {
  return f(x.items, x.total);
}

template<class Inspector>
typename Inspector::result_type
inspect(Inspector& f, webhook_execution_ref& x) {
  return f(x.project, x.policy_id, x.id);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, project_spec& x) {
  return f(x.name, x.is_public, x.auto_scan, x.metadata);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, project_query& x) {
  return f(x.name, x.page, x.list);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, repository_row& x) {
  return f(x.id, x.project_id, x.description, x.name, x.creation_time,
           x.update_time, x.pull_count, x.artifact_count);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, repository_query& x) {
  return f(x.project, x.page, x.list);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, tag_row& x) {
  return f(x.name, x.push_time, x.pull_time, x.id, x.repository_id,
           x.artifact_id);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, artifact_row& x) {
  return f(x.id, x.project_id, x.repository_id, x.type, x.harbor_media_type,
           x.config_media_type, x.artifact_type, x.extra_attrs, x.annotations,
           x.references, x.details_size, x.digest, x.media_type, x.size,
           x.push_time, x.pull_time, x.repository, x.tags, x.scan_overview);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, artifact_query& x) {
  return f(x.repository, x.page, x.with_scan_overview, x.list);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_filter& x) {
  return f(x.operation, x.username, x.resource, x.from, x.to,
           x.resource_type, x.project);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_query& x) {
  return f(x.filter, x.page, x.list);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_row& x) {
  return f(x.id, x.username, x.repository, x.tag, x.digest, x.operation,
           x.op_time, x.event_id, x.resource_type, x.resource);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter_row& x) {
  return f(x.id, x.event_id, x.effect, x.error, x.attempts, x.created_at,
           x.replayed_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_result& x) {
  return f(x.id, x.event_id, x.requeued);
}

} // namespace regevent

// The callback is a local function; these messages never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::ingest_request)
// In-process only: the writer and the effect actors share one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::effect_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::effect_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::writer_job_handle)
// Management API records between the facade and the query pool.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::api_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::registry_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::registry_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::registry_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::registry_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_policy_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_policy)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_policy_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_policy_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_execution)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_execution_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_execution_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_execution_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_execution_start)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::replication_task_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scanner_default_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::project_scanner)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::artifact_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::repository_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::tag_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::tag_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::tag_reference)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::artifact_row)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::artifact_reference)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scan_request_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scan_report_doc)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scan_log)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::scan_log_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::reconcile_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::reconcile_run)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::reconcile_run_list)

CAF_BEGIN_TYPE_ID_BLOCK(regevent, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(regevent, (regevent::event_record))
CAF_ADD_TYPE_ID(regevent, (std::vector<regevent::event_record>))
CAF_ADD_TYPE_ID(regevent, (regevent::status_update))
CAF_ADD_TYPE_ID(regevent, (std::vector<regevent::status_update>))
CAF_ADD_TYPE_ID(regevent, (regevent::dead_letter))
CAF_ADD_TYPE_ID(regevent, (regevent::planned_event))
CAF_ADD_TYPE_ID(regevent, (regevent::ingest_result))
CAF_ADD_TYPE_ID(regevent, (regevent::page_request))
CAF_ADD_TYPE_ID(regevent, (regevent::project_row))
CAF_ADD_TYPE_ID(regevent, (regevent::project_spec))
CAF_ADD_TYPE_ID(regevent, (regevent::project_query))
CAF_ADD_TYPE_ID(regevent, (regevent::project_page))
CAF_ADD_TYPE_ID(regevent, (regevent::repository_row))
CAF_ADD_TYPE_ID(regevent, (regevent::repository_query))
CAF_ADD_TYPE_ID(regevent, (regevent::repository_page))
CAF_ADD_TYPE_ID(regevent, (regevent::artifact_query))
CAF_ADD_TYPE_ID(regevent, (regevent::artifact_page))
CAF_ADD_TYPE_ID(regevent, (regevent::audit_query))
CAF_ADD_TYPE_ID(regevent, (regevent::audit_page))
CAF_ADD_TYPE_ID(regevent, (regevent::dead_letter_page))
CAF_ADD_TYPE_ID(regevent, (regevent::replay_result))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_policy_spec))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_policy))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_policy_list))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_policy_ref))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_policy_update))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_execution))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_execution_query))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_execution_page))
CAF_ADD_TYPE_ID(regevent, (regevent::webhook_execution_ref))

CAF_ADD_ATOM(regevent, regevent::atom, ingest, "ingest")
CAF_ADD_ATOM(regevent, regevent::atom, append, "append")
CAF_ADD_ATOM(regevent, regevent::atom, finish, "finish")
CAF_ADD_ATOM(regevent, regevent::atom, dead, "dead")
CAF_ADD_ATOM(regevent, regevent::atom, pending, "pending")
CAF_ADD_ATOM(regevent, regevent::atom, flush, "flush")
CAF_ADD_ATOM(regevent, regevent::atom, tick, "tick")
CAF_ADD_ATOM(regevent, regevent::atom, wakeup, "wakeup")
CAF_ADD_ATOM(regevent, regevent::atom, status, "status")
CAF_ADD_ATOM(regevent, regevent::atom, shutdown, "shutdown")
CAF_ADD_ATOM(regevent, regevent::atom, apply, "apply")
CAF_ADD_ATOM(regevent, regevent::atom, get, "get")
CAF_ADD_ATOM(regevent, regevent::atom, retry, "retry")
CAF_ADD_ATOM(regevent, regevent::atom, resolve, "resolve")
CAF_ADD_ATOM(regevent, regevent::atom, query, "query")
CAF_ADD_ATOM(regevent, regevent::atom, create, "create")
CAF_ADD_ATOM(regevent, regevent::atom, replay, "replay")
CAF_ADD_ATOM(regevent, regevent::atom, purge, "purge")
CAF_ADD_ATOM(regevent, regevent::atom, projects, "projects")
CAF_ADD_ATOM(regevent, regevent::atom, repositories, "repos")
CAF_ADD_ATOM(regevent, regevent::atom, artifacts, "artifacts")
CAF_ADD_ATOM(regevent, regevent::atom, audit, "audit")
CAF_ADD_ATOM(regevent, regevent::atom, dead_letters, "deadletter")
CAF_ADD_ATOM(regevent, regevent::atom, bind, "bind")
CAF_ADD_ATOM(regevent, regevent::atom, subscribe, "subscribe")
CAF_ADD_ATOM(regevent, regevent::atom, backlog, "backlog")
CAF_ADD_ATOM(regevent, regevent::atom, next_stage, "nextstage")
CAF_ADD_ATOM(regevent, regevent::atom, webhooks, "webhooks")
CAF_ADD_ATOM(regevent, regevent::atom, executions, "executions")
CAF_ADD_ATOM(regevent, regevent::atom, update, "update")
CAF_ADD_ATOM(regevent, regevent::atom, remove, "remove")
CAF_ADD_ATOM(regevent, regevent::atom, write, "write")
CAF_ADD_ATOM(regevent, regevent::atom, registries, "registries")
CAF_ADD_ATOM(regevent, regevent::atom, replication, "replpolicy")
CAF_ADD_ATOM(regevent, regevent::atom, scanners, "scanners")
CAF_ADD_ATOM(regevent, regevent::atom, renew, "renew")
CAF_ADD_ATOM(regevent, regevent::atom, reconcile, "reconcile")

CAF_END_TYPE_ID_BLOCK(regevent)
