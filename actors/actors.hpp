#pragma once

/// Every typed actor interface of regevent, in one place, so that the
/// protocol between the actors reads as one document.

#include "actors/atoms.hpp"
#include "actors/runtime.hpp"
#include "config/config.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace regevent {
struct effect_pools;
}
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::effect_pools)

namespace regevent {

/// Told by the journal, the owner of the backlog count and the database's
/// health, whenever either changes: the events journaled and not finished,
/// and whether the last commit or probe reached the database. The HTTP
/// actor decides backpressure on what it was told, never on shared state.
using backlog_listener
    = caf::typed_actor<caf::reacts_to<atom::backlog, uint64_t, bool>>;

/// What every stage that runs dispatchers answers at shutdown.
using drainable_actor = caf::typed_actor<
    /// Stop starting work; answers once every dispatcher of this stage has
    /// finished (the caller's timeout bounds the wait).
    caf::replies_to<atom::shutdown>::with<bool>,
    /// Dispatchers alive.
    caf::replies_to<atom::status>::with<uint64_t>>;

/// The JOURNAL actor interface: the only writer of the `events` table.
using journal_actor = caf::typed_actor<
    /// Journals a batch in a group commit and answers with the events that
    /// were new; a duplicate id is never stored twice. `true` claims the new
    /// rows for immediate dispatch by this instance.
    caf::replies_to<atom::append, std::vector<event_record>,
                    bool>::with<std::vector<event_record>>,
    /// Records final states (done, ignored) of dispatched events.
    caf::reacts_to<atom::finish, std::vector<status_update>>,
    /// Stores a dead letter and marks its event dead; answers after commit.
    caf::replies_to<atom::dead, dead_letter>::with<bool>,
    /// SQLite's single writer: applies an effect batch and its completion
    /// marks in the next group commit (in a savepoint, so that a failing
    /// batch costs only itself) and answers after that commit.
    caf::replies_to<atom::apply, effect_batch>::with<effect_outcome>,
    /// Whether a project exists, read on the writer's connection (for the
    /// effect actors that commit through it and have no connection).
    caf::replies_to<atom::resolve, std::string>::with<bool>,
    /// Runs a writer job (writer_job.hpp) after the buffered commits, in a
    /// transaction of its own; answers after its commit, or with the error
    /// that rolled it back.
    caf::replies_to<atom::write, writer_job_handle>::with<bool>,
    /// Answers the number of pending events.
    caf::replies_to<atom::pending>::with<uint64_t>,
    /// Sends a dead letter's event back to pending (the API's replay), in
    /// its own commit; ec::not_found for an unknown id.
    caf::replies_to<atom::replay, int64_t>::with<replay_result>,
    /// Tells the listener the backlog now and whenever it changes.
    caf::reacts_to<atom::subscribe, backlog_listener>,
    /// Commits what is buffered (sent by the actor to itself).
    caf::reacts_to<atom::flush>,
    /// Periodic housekeeping: recount statuses, probe the database.
    caf::reacts_to<atom::tick>>;

/// The EFFECT actor interface, shared by every effect kind (access_log,
/// repositories, pull_counter, artifacts).
using effect_actor = caf::typed_actor<
    /// Applies the effect of one event, exactly once; answers after commit
    /// with true, or false when the effect was already applied.
    caf::replies_to<atom::apply, planned_event>::with<bool>,
    /// Whether a project exists. Only the repositories effect owns projects;
    /// the other effects answer true.
    caf::replies_to<atom::resolve, std::string>::with<bool>,
    /// Commits what is buffered (sent by the actor to itself).
    caf::reacts_to<atom::flush>,
    /// Commit through this writer from now on (the journal was restarted).
    caf::reacts_to<atom::bind, journal_actor>>;

/// The QUERY actor interface: runs management API reads and writes on its
/// own connection, off the io threads and the cooperative scheduler. Each
/// answers typed rows, or an error: ec::not_found, ec::already_exists,
/// ec::database_unavailable, ec::database_error.
/// Each change names the `api_user` who asked for it: it is written with
/// its audit row, in its transaction.
using query_actor = caf::typed_actor<
    /// A page of projects, optionally only the one of a name.
    caf::replies_to<atom::query, project_query>::with<project_page>,
    /// One project by name.
    caf::replies_to<atom::get, atom::projects, std::string>::with<project_row>,
    /// Creates a project.
    caf::replies_to<atom::create, project_spec, api_user>::with<project_row>,
    /// A page of a project's repositories.
    caf::replies_to<atom::query, repository_query>::with<repository_page>,
    /// One repository by full name.
    caf::replies_to<atom::get, atom::repositories,
                    std::string>::with<repository_row>,
    /// A page of a repository's live artifacts with their tags.
    caf::replies_to<atom::query, artifact_query>::with<artifact_page>,
    /// One artifact by digest or tag.
    caf::replies_to<atom::get, artifact_lookup>::with<artifact_row>,
    /// Sets a repository's description.
    caf::replies_to<atom::update, repository_update,
                    api_user>::with<repository_row>,
    /// A page of one artifact's live tags.
    caf::replies_to<atom::query, tag_query>::with<tag_page>,
    /// Hides an artifact from regevent's records (not the registry's);
    /// answers its digest.
    caf::replies_to<atom::remove, artifact_lookup, api_user>::with<std::string>,
    /// Hides a tag from regevent's records.
    caf::replies_to<atom::remove, tag_reference, api_user>::with<bool>,
    /// A page of audit-log rows.
    caf::replies_to<atom::query, audit_query>::with<audit_page>,
    /// A page of dead letters.
    caf::replies_to<atom::query, atom::dead_letters,
                    page_request>::with<dead_letter_page>,
    /// A project's webhook policies.
    caf::replies_to<atom::query, atom::webhooks,
                    std::string>::with<webhook_policy_list>,
    /// One webhook policy.
    caf::replies_to<atom::get, atom::webhooks,
                    webhook_policy_ref>::with<webhook_policy>,
    /// Creates a webhook policy.
    caf::replies_to<atom::create, webhook_policy_spec,
                    api_user>::with<webhook_policy>,
    /// Replaces a webhook policy.
    caf::replies_to<atom::update, webhook_policy_update,
                    api_user>::with<webhook_policy>,
    /// Deletes a webhook policy.
    caf::replies_to<atom::remove, atom::webhooks, webhook_policy_ref,
                    api_user>::with<bool>,
    /// A page of a policy's delivery log.
    caf::replies_to<atom::query, atom::executions,
                    webhook_execution_query>::with<webhook_execution_page>,
    /// One delivery with its attempts.
    caf::replies_to<atom::get, atom::executions,
                    webhook_execution_ref>::with<webhook_execution>,
    /// Makes a delivery due again.
    caf::replies_to<atom::retry, atom::executions, webhook_execution_ref,
                    api_user>::with<webhook_execution>,
    /// Queues a test delivery to each target of a policy.
    caf::replies_to<atom::create, atom::executions, webhook_policy_ref,
                    api_user>::with<webhook_execution>,
    /// Registries, without their credentials' secrets.
    caf::replies_to<atom::query, atom::registries>::with<registry_list>,
    caf::replies_to<atom::get, atom::registries,
                    int64_t>::with<registry_record>,
    /// The registry with its credential's secret opened, for a ping (in
    /// memory only; never answered by the API).
    caf::replies_to<atom::get, atom::registries, int64_t,
                    bool>::with<registry_record>,
    caf::replies_to<atom::create, registry_spec,
                    api_user>::with<registry_record>,
    caf::replies_to<atom::update, registry_update,
                    api_user>::with<registry_record>,
    /// Deletes a registry no policy names (ec::already_exists otherwise).
    caf::replies_to<atom::remove, atom::registries, int64_t,
                    api_user>::with<bool>,
    /// Replication policies.
    caf::replies_to<atom::query,
                    atom::replication>::with<replication_policy_list>,
    caf::replies_to<atom::get, atom::replication,
                    int64_t>::with<replication_policy>,
    caf::replies_to<atom::create, replication_policy_spec,
                    api_user>::with<replication_policy>,
    caf::replies_to<atom::update, replication_policy_update,
                    api_user>::with<replication_policy>,
    caf::replies_to<atom::remove, atom::replication, int64_t,
                    api_user>::with<bool>,
    /// Replication executions, newest first, and their tasks.
    caf::replies_to<atom::query, atom::replication,
                    replication_execution_query>::with<replication_execution_page>,
    caf::replies_to<atom::get,
                    replication_execution_id>::with<replication_execution>,
    caf::replies_to<atom::query,
                    replication_execution_id>::with<replication_task_list>,
    /// Starts a manual run (its tasks are listed by the workers).
    caf::replies_to<atom::create, replication_execution_start,
                    api_user>::with<replication_execution>,
    /// Stops a running execution.
    caf::replies_to<atom::update, replication_execution_id,
                    api_user>::with<replication_execution>,
    /// Runs a failed or stopped execution's failed and stopped tasks again.
    caf::replies_to<atom::retry, replication_execution_id,
                    api_user>::with<replication_execution>,
    /// Scanner registrations (credentials never read back) and the scanner
    /// each project uses.
    caf::replies_to<atom::query, atom::scanners>::with<scanner_list>,
    caf::replies_to<atom::get, scanner_id>::with<scanner_registration>,
    /// With its credential opened, for a call to the adapter; never to be
    /// answered.
    caf::replies_to<atom::get, scanner_id, bool>::with<scanner_registration>,
    caf::replies_to<atom::create, scanner_spec,
                    api_user>::with<scanner_registration>,
    caf::replies_to<atom::update, scanner_update,
                    api_user>::with<scanner_registration>,
    caf::replies_to<atom::update, scanner_default_change,
                    api_user>::with<scanner_registration>,
    caf::replies_to<atom::remove, scanner_id, api_user>::with<bool>,
    /// The project's own scanner, else the default.
    caf::replies_to<atom::get, atom::scanners,
                    std::string>::with<scanner_registration>,
    caf::replies_to<atom::update, project_scanner, api_user>::with<bool>,
    /// Queues a scan of an artifact by hand.
    caf::replies_to<atom::create, artifact_reference,
                    api_user>::with<scan_request_result>,
    /// An artifact's latest report by its project's scanner.
    caf::replies_to<atom::get, atom::scanners,
                    artifact_reference>::with<scan_report_doc>,
    /// A scan's log.
    caf::replies_to<atom::get, scan_log_query>::with<scan_log>,
    /// Queues a reconcile run (none while one is unfinished).
    caf::replies_to<atom::create, reconcile_request,
                    api_user>::with<reconcile_run>,
    /// The newest reconcile runs.
    caf::replies_to<atom::get, atom::reconcile>::with<reconcile_run_list>>;

/// The RETENTION actor interface: purges access logs older than the
/// configured number of days.
using retention_actor = caf::typed_actor<
    /// Starts a purge round (periodic).
    caf::reacts_to<atom::tick>,
    /// Deletes the next batch of the current round.
    caf::reacts_to<atom::purge>>;

/// The WEBHOOK DELIVERY actor interface: sends due webhook deliveries.
using webhook_delivery_actor = caf::typed_actor<
    /// Records outcomes, claims due deliveries (periodic).
    caf::reacts_to<atom::tick>,
    /// Answers arrived from the outbound client.
    caf::reacts_to<atom::wakeup>>;

/// The REPLICATION WORKER actor interface: copies due replication tasks.
using replication_worker_actor = caf::typed_actor<
    /// Renews leases, records outcomes, claims due tasks (periodic).
    caf::reacts_to<atom::tick>,
    /// Copies and listings ended on their threads.
    caf::reacts_to<atom::wakeup>,
    /// An execution was stopped: renew (and so cancel) now.
    caf::reacts_to<atom::renew>>;

/// The SCAN WORKER actor interface: runs due scan tasks.
using scan_worker_actor = caf::typed_actor<
    /// Renews leases, records outcomes, claims due tasks (periodic).
    caf::reacts_to<atom::tick>,
    /// Answers arrived from the adapters, a poll came due, or a manual
    /// scan was queued.
    caf::reacts_to<atom::wakeup>>;

/// The RECONCILE actor interface: takes reconcile runs and walks the source
/// registry, one step per message.
using reconcile_actor = caf::typed_actor<
    /// Looks for a run to take: one queued, or a schedule come due
    /// (periodic).
    caf::reacts_to<atom::tick>,
    /// A run was queued through the API here: take it now.
    caf::reacts_to<atom::wakeup>,
    /// The next step of the run in progress.
    caf::reacts_to<atom::reconcile>>;

/// The ARTIFACT DETAILS actor interface: reads what a notification does
/// not say about each artifact from the source registry, once.
using artifact_details_actor = caf::typed_actor<
    /// Looks for artifacts without details (or with a failed read due
    /// again) and reads a batch of them (periodic, and at once after a
    /// full batch).
    caf::reacts_to<atom::tick>>;

/// The effect actors of a running daemon, by effect name.
struct effect_pools {
  std::map<std::string, std::vector<effect_actor>> pools;
};

/// The SUPERVISOR actor interface: owns the effect actors' lifecycle.
using supervisor_actor = caf::typed_actor<
    /// The current effect actors, for a new dispatcher.
    caf::replies_to<atom::get>::with<effect_pools>,
    /// The current instance of an effect for a key (the repository), so that
    /// a retry reaches the instance that replaced a crashed one.
    caf::replies_to<atom::get, std::string, std::string>::with<effect_actor>,
    /// The journal was restarted: effects that commit through the writer
    /// commit through this one, and so do the ones started later.
    caf::reacts_to<atom::bind, journal_actor>>;

/// The DISPATCHER actor interface: one per batch; only talks to itself.
using dispatcher_actor = caf::typed_actor<
    /// Sends a request again after its backoff (item index).
    caf::reacts_to<atom::retry, uint64_t>>;

/// The RECOVERY actor interface: feeds journaled, unfinished events to
/// dispatchers in bounded batches.
using recovery_actor = caf::typed_actor<
    /// Live ingest left events undispatched: look for work now.
    caf::reacts_to<atom::wakeup>,
    /// Periodic: look for work whose claim expired (a dead instance's).
    caf::reacts_to<atom::tick>,
    /// The journal was restarted: new dispatchers report to this one.
    caf::reacts_to<atom::bind, journal_actor>>::extend_with<drainable_actor>;

/// The HTTP actor interface: owns ingest, spawns a dispatcher per batch.
using http_actor = caf::typed_actor<
    /// A parsed notification to journal and answer.
    caf::reacts_to<atom::ingest, ingest_request>,
    /// Spawns one dispatcher for the events of the appends answered since
    /// the last flush (sent by the actor to itself).
    caf::reacts_to<atom::flush>,
    /// The journal was restarted: journal there, and subscribe again.
    caf::reacts_to<atom::bind, journal_actor>,
    /// Recovery was restarted: wake that one up.
    caf::reacts_to<atom::bind, recovery_actor>,
    /// What the journal tells about its backlog and the database.
    caf::reacts_to<atom::backlog, uint64_t,
                   bool>>::extend_with<drainable_actor>;

/// The ROOT actor interface: owns the core topology (journal, effect
/// supervisor, recovery, HTTP actor), restarts the journal, recovery and the
/// HTTP actor when they die, and stops them in order.
using root_actor = caf::typed_actor<
    /// Drain: the HTTP actor and recovery stop starting work; answers once
    /// every dispatcher finished.
    caf::replies_to<atom::shutdown>::with<bool>,
    /// Children alive; answered once the topology is up (the facade waits
    /// for it before it takes requests).
    caf::replies_to<atom::status>::with<uint64_t>,
    /// The ordered stop moves to its next stage when a stage outlives the
    /// grace period (sent by the actor to itself; the stage's index).
    caf::reacts_to<atom::next_stage, uint64_t>>;

/// Picks the instance of a pool that serves `key`: a stable hash, so that one
/// repository's updates land in one instance and aggregate there.
size_t pick_instance(const std::string& key, size_t pool_size);

} // namespace regevent
