#pragma once

/// The one door from the transport into the actors: typed calls that answer
/// through callbacks with domain results or regevent's error codes. No
/// actor handle or CAF scheduling type crosses it.

#include "actors/errors.hpp"
#include "actors/runtime.hpp"
#include "persistence/catalog.hpp"
#include "persistence/event.hpp"
#include "persistence/reconcile.hpp"
#include "persistence/replication.hpp"
#include "persistence/scan.hpp"
#include "persistence/scanner.hpp"
#include "persistence/webhook.hpp"
#include "persistence/webhook_delivery.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

/// The running actor topology of one daemon: the CAF actor system with the
/// supervisor and its effect actors, the journal, recovery, the HTTP actor
/// and the query pool.
class actor_runtime {
public:
  explicit actor_runtime(const runtime& rt);
  ~actor_runtime();

  actor_runtime(const actor_runtime&) = delete;
  actor_runtime& operator=(const actor_runtime&) = delete;

  /// Journals a parsed notification; `done` gets what happened to it, or
  /// ec::shutting_down / ec::database_unavailable / ec::overloaded. Never
  /// blocks.
  void ingest(std::vector<event_record> events, uint32_t ignored,
              reply_fn<ingest_result> done);

  /// Management API reads and writes, run by the query pool; each answers
  /// its rows or ec::not_found, ec::already_exists,
  /// ec::database_unavailable, ec::database_error. Never block. Each write
  /// takes the `api_user` who asked for it, for its audit row.
  void list_projects(project_query q, reply_fn<project_page> done);
  void get_project(std::string name, reply_fn<project_row> done);
  void create_project(api_user by, project_spec spec,
                      reply_fn<project_row> done);
  void list_repositories(repository_query q, reply_fn<repository_page> done);
  void get_repository(std::string full_name, reply_fn<repository_row> done);
  void list_artifacts(artifact_query q, reply_fn<artifact_page> done);
  void list_audit_logs(audit_query q, reply_fn<audit_page> done);
  void list_dead_letters(page_request p, reply_fn<dead_letter_page> done);
  /// Webhook policies of a project (ec::not_found for an unknown project
  /// or policy, ec::already_exists for a taken name).
  void list_webhook_policies(std::string project,
                             reply_fn<webhook_policy_list> done);
  void get_webhook_policy(webhook_policy_ref ref,
                          reply_fn<webhook_policy> done);
  void create_webhook_policy(api_user by, webhook_policy_spec spec,
                             reply_fn<webhook_policy> done);
  void update_webhook_policy(api_user by, webhook_policy_update change,
                             reply_fn<webhook_policy> done);
  void delete_webhook_policy(api_user by, webhook_policy_ref ref,
                             reply_fn<bool> done);
  /// The delivery log of a policy (ec::not_found for an unknown project,
  /// policy or execution).
  void list_webhook_executions(webhook_execution_query q,
                               reply_fn<webhook_execution_page> done);
  void get_webhook_execution(webhook_execution_ref ref,
                             reply_fn<webhook_execution> done);
  void retry_webhook_execution(api_user by, webhook_execution_ref ref,
                               reply_fn<webhook_execution> done);
  /// Queues a test delivery to every target of the policy; answers the
  /// first.
  void test_webhook_policy(api_user by, webhook_policy_ref ref,
                           reply_fn<webhook_execution> done);

  /// Registries and replication policies (issue 11's model).
  void list_registries(reply_fn<registry_list> done);
  void get_registry(int64_t id, reply_fn<registry_record> done);
  /// With the credential's secret, for a ping; never to be answered.
  void get_registry_with_secret(int64_t id, reply_fn<registry_record> done);
  void create_registry(api_user by, registry_spec spec,
                       reply_fn<registry_record> done);
  void update_registry(api_user by, registry_update change,
                       reply_fn<registry_record> done);
  void delete_registry(api_user by, int64_t id, reply_fn<bool> done);
  void list_replication_policies(reply_fn<replication_policy_list> done);
  void get_replication_policy(int64_t id, reply_fn<replication_policy> done);
  void create_replication_policy(api_user by, replication_policy_spec spec,
                                 reply_fn<replication_policy> done);
  void update_replication_policy(api_user by, replication_policy_update change,
                                 reply_fn<replication_policy> done);
  void delete_replication_policy(api_user by, int64_t id, reply_fn<bool> done);
  /// Replication executions and their tasks (ec::not_found for an unknown
  /// one; ec::already_exists for a disabled policy's manual run or a
  /// re-run of an execution that has not failed).
  void list_replication_executions(
      replication_execution_query q,
      reply_fn<replication_execution_page> done);
  void get_replication_execution(int64_t id,
                                 reply_fn<replication_execution> done);
  void list_replication_tasks(int64_t execution_id,
                              reply_fn<replication_task_list> done);
  void start_replication(api_user by, int64_t policy_id,
                         reply_fn<replication_execution> done);
  void retry_replication_execution(api_user by, int64_t id,
                                   reply_fn<replication_execution> done);
  /// Stops a running execution; one that has ended is answered as it is.
  void stop_replication_execution(api_user by, int64_t id,
                                  reply_fn<replication_execution> done);
  void list_scanners(reply_fn<scanner_list> done);
  void get_scanner(std::string uuid, reply_fn<scanner_registration> done);
  /// With its credential opened, for a call to the adapter; never to be
  /// answered.
  void get_scanner_with_credential(std::string uuid,
                                   reply_fn<scanner_registration> done);
  void create_scanner(api_user by, scanner_spec spec,
                      reply_fn<scanner_registration> done);
  void update_scanner(api_user by, scanner_update change,
                      reply_fn<scanner_registration> done);
  void set_default_scanner(api_user by, scanner_default_change change,
                           reply_fn<scanner_registration> done);
  void delete_scanner(api_user by, std::string uuid, reply_fn<bool> done);
  /// The project's own scanner, else the default (ec::not_found: neither).
  void get_project_scanner(std::string project,
                           reply_fn<scanner_registration> done);
  void set_project_scanner(api_user by, project_scanner choice,
                           reply_fn<bool> done);

  /// One live artifact by digest or tag (ec::not_found: none), with its
  /// `scan_overview` when asked.
  void get_artifact(artifact_lookup q, reply_fn<artifact_row> done);
  /// Sets a repository's description.
  void update_repository(api_user by, repository_update u,
                         reply_fn<repository_row> done);
  /// The live tags of one live artifact.
  void list_tags(tag_query q, reply_fn<tag_page> done);
  /// Hides an artifact, or one of its tags, from regevent's records; the
  /// registry is not changed. Answers the artifact's digest.
  void delete_artifact(api_user by, artifact_lookup q,
                       reply_fn<std::string> done);
  void delete_tag(api_user by, tag_reference q, reply_fn<bool> done);
  /// Queues a scan of an artifact by its project's scanner and wakes the
  /// scan workers.
  void scan_artifact(api_user by, artifact_reference artifact,
                     reply_fn<scan_request_result> done);
  /// The artifact's latest report (empty when it has none; ec::not_found:
  /// no such artifact).
  void get_vulnerabilities(artifact_reference artifact,
                           reply_fn<scan_report_doc> done);
  /// A scan's log (ec::not_found: no such scan of the artifact).
  void get_scan_log(scan_log_query q, reply_fn<scan_log> done);
  /// Queues a reconcile run with the source registry and wakes the
  /// reconcile actor (ec::already_exists: one is unfinished, named in the
  /// message).
  void start_reconcile(api_user by, reply_fn<reconcile_run> done);
  /// The newest reconcile runs.
  void list_reconcile_runs(reply_fn<reconcile_run_list> done);
  /// Through the journal, the only writer of `events`.
  void replay_dead_letter(int64_t id, reply_fn<replay_result> done);

  /// Stops spawning dispatchers and claiming, then waits until every
  /// dispatcher finished or the deadline passed. True when drained.
  bool drain(std::chrono::steady_clock::time_point deadline);

  /// Stops every actor in order (effects flush, claims are given back).
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent
