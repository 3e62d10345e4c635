#pragma once

#include <cstddef>
#include <cstdint>

/// Every built-in timeout, limit and retry cap in one place, so that an
/// operator reading the code finds the value the daemon runs with when the
/// configuration file says nothing.
namespace regevent::defaults {

/// Loopback only: the notification and management endpoints are open to
/// whoever can reach them until tokens are set.
constexpr const char* listen = "127.0.0.1:8080";
constexpr const char* database_url = "sqlite://regevent.db";

namespace logging {
constexpr const char* level = "info";
constexpr const char* format = "text";
} // namespace logging

namespace tls {
/// TLS 1.0 and 1.1 are deprecated (RFC 8996).
constexpr const char* min_version = "1.2";
} // namespace tls

namespace http {
/// Beast io threads. Two keep both cores of a small machine busy with parsing
/// while the journal commits.
constexpr size_t io_threads = 2;
/// Registry envelopes are ~1.5 KiB per event; 1 MiB holds hundreds.
constexpr size_t body_limit = 1 << 20;
constexpr size_t header_limit = 16 * 1024;
constexpr uint32_t read_timeout_ms = 10'000;
constexpr uint32_t idle_timeout_ms = 60'000;
constexpr uint32_t write_timeout_ms = 10'000;
constexpr size_t max_pipeline = 16;
constexpr size_t max_connections = 1024;
} // namespace http

namespace database {
/// NORMAL in WAL mode never corrupts the database; a power loss may roll back
/// the last commits since the last checkpoint. FULL fsyncs every commit.
constexpr const char* sqlite_synchronous = "normal";
constexpr uint32_t busy_timeout_ms = 10'000;
constexpr size_t pool_size = 4;
constexpr uint32_t reconnect_initial_ms = 100;
constexpr uint32_t reconnect_max_ms = 5'000;
/// A writer waiting for SQLite's lock sleeps in steps growing from the
/// first to the largest (SQLite's own handler sleeps up to 100 ms, leaving
/// the database idle while writers queue).
constexpr uint32_t busy_wait_first_us = 50;
constexpr uint32_t busy_wait_max_us = 2'000;
/// The SQLite WAL is checkpointed and truncated once it passes this size: a
/// safety valve, not a routine (the TRUNCATE checkpoint stalls writers for
/// its fsync; at 64 MiB it stalled ingest every few seconds under load).
constexpr uint64_t wal_limit_bytes = 1ull << 30;
/// After a checkpoint SQLite cuts the WAL back to this size instead of
/// keeping its high-water mark.
constexpr uint64_t wal_size_after_checkpoint_bytes = 64ull << 20;
} // namespace database

namespace journal {
/// The journal's housekeeping period: buffered final states, the WAL's
/// size, and a database probe while the database is down.
constexpr uint32_t tick_ms = 1'000;
/// Statuses are recounted every this many ticks: the running count only
/// drifts through other instances' writes.
constexpr uint32_t recount_every_ticks = 15;
/// How often recovery counts the journal's events by status for the
/// metrics: a read of every row, on its own connection.
constexpr uint32_t status_count_interval_ms = 60'000;
} // namespace journal

namespace ingest {
/// Pending events past which notifications are answered 503.
constexpr uint64_t max_backlog = 2'000'000;
constexpr uint32_t retry_after_s = 5;
/// Most events journaled in one group commit.
constexpr size_t group_commit_max = 4096;
/// How long the HTTP actor waits for the journal before answering 503.
constexpr uint32_t journal_timeout_ms = 5'000;
/// While the dispatcher pool is full, recovery is woken up at most this
/// often: it claims in batches and its own poll follows up.
constexpr uint32_t recovery_wakeup_interval_ms = 50;
} // namespace ingest

namespace dispatch {
/// Dispatchers alive at once for live batches; the rest wait in the journal.
constexpr size_t max_dispatchers = 256;
/// Dispatchers alive at once for recovered batches.
constexpr size_t recovery_dispatchers = 8;
/// Events claimed from the journal per recovered batch.
constexpr size_t recovery_batch = 256;
/// How often the recovery actor looks for abandoned or expired work.
constexpr uint32_t recovery_poll_ms = 1'000;
/// A claim on a journaled event expires after this long without renewal, so
/// that another instance can take over the work of a dead one.
constexpr uint32_t claim_lease_ms = 60'000;
/// An instance whose heartbeat is older than this is dead: its claims are
/// taken over at once instead of when their lease runs out.
constexpr uint32_t heartbeat_timeout_ms = 10'000;
} // namespace dispatch

namespace filter {
/// Harbor's project for repositories without a `/`.
constexpr const char* default_project = "library";
/// Clients whose pulls are not counted (replication and scanning read
/// images without anyone using them) and whose pushes and deletes are not
/// replicated again (a copy into a registry that also notifies regevent
/// must not bounce back): Harbor's own and ours.
constexpr const char* internal_user_agents[]
    = {"harbor-registry-client", "harbor-replication-service",
       "regevent-replicator", "regevent-scanner", "regevent-reconcile",
       "regevent-inspector"};
} // namespace filter

namespace effects {
constexpr size_t instances = 1;
constexpr size_t batch_size = 512;
constexpr uint32_t batch_delay_ms = 2;
constexpr uint32_t request_timeout_ms = 10'000;
constexpr uint32_t retry_attempts = 5;
constexpr uint32_t retry_base_ms = 100;
constexpr uint32_t retry_max_ms = 10'000;
constexpr double retry_jitter = 0.2;
constexpr uint32_t max_restarts = 10;
constexpr uint32_t restart_window_s = 60;
} // namespace effects

namespace retention {
/// 0 keeps access logs forever.
constexpr uint32_t access_log_days = 0;
/// A finished event needs its body and effect marks only while it could be
/// dispatched again; a week leaves room to inspect a recent one.
constexpr uint32_t journal_days = 7;
/// A registry gives up re-sending an event within hours; a month of ids
/// keeps deduplicating any delivery that late.
constexpr uint32_t dedup_days = 30;
constexpr uint32_t purge_interval_s = 3'600;
constexpr uint32_t purge_batch = 1'000;
/// Pause between two purge batches, so that ingest and the effects get the
/// SQLite write lock in between.
constexpr uint32_t batch_pause_ms = 20;
/// The first purge round runs this long after start, not during start-up.
constexpr uint32_t first_round_delay_ms = 1'000;
} // namespace retention

namespace outbound {
/// One io thread: outbound traffic (webhooks, replication, scans) is far
/// smaller than ingest, and a slow receiver waits on a socket, not a thread.
constexpr size_t io_threads = 1;
/// Name resolution plus TCP connect: a receiver that takes longer is down.
constexpr uint32_t connect_timeout_ms = 5'000;
constexpr uint32_t handshake_timeout_ms = 5'000;
/// From send() to the response's last byte; Harbor gives a webhook 10 s
/// per attempt, a scanner's report or a manifest may take longer.
constexpr uint32_t total_timeout_ms = 30'000;
/// Webhook receivers answer a few bytes and scanners' reports are far
/// below this; a caller that expects more says so per request.
constexpr size_t body_limit = 4 << 20;
constexpr size_t header_limit = 64 * 1024;
/// Per origin (scheme, host, port, TLS options): enough to keep a
/// receiver busy without opening a connection per event.
constexpr size_t max_connections_per_origin = 8;
constexpr size_t max_idle_per_origin = 4;
constexpr size_t max_queued_per_origin = 1024;
/// Below the usual server keep-alive timeouts (nginx 75 s, Go 90 s), so
/// that the client rather than the server ends most idle connections.
constexpr uint32_t idle_timeout_ms = 30'000;
/// stop() waits this long for requests in flight (a name resolution
/// cannot be interrupted) before abandoning them.
constexpr uint32_t shutdown_grace_ms = 1'000;
constexpr const char* user_agent = "regevent";
/// A streamed response body is read and handed over in pieces of this
/// size: what a large download holds in the client at once.
constexpr size_t stream_piece_size = 64 * 1024;
} // namespace outbound

namespace shutdown {
constexpr uint32_t grace_period_ms = 10'000;
} // namespace shutdown

namespace api {
constexpr size_t page_size = 10;
constexpr size_t max_page_size = 100;
/// A management API call that has no answer by then answers 503.
constexpr uint32_t request_timeout_ms = 30'000;
/// The largest page number a list accepts (beyond it no page has rows, and
/// page * size must not overflow).
constexpr int64_t max_page_number = 1'000'000'000;
/// The largest dead letter id the replay path accepts.
constexpr int64_t max_dead_letter_id = 1'000'000'000'000;
/// Harbor's limit on a project name.
constexpr size_t max_project_name = 255;
} // namespace api

namespace webhooks {
/// Targets one policy may have: each is a delivery per event.
constexpr size_t max_targets = 10;
/// The largest policy id the API accepts in a path.
constexpr int64_t max_policy_id = 1'000'000'000'000;
/// Deliveries in flight at once over all targets.
constexpr size_t workers = 32;
/// Harbor retries a webhook three times after the first try.
constexpr uint32_t max_retries = 3;
constexpr uint32_t retry_base_ms = 1'000;
constexpr uint32_t retry_max_ms = 300'000;
/// Harbor gives a receiver 10 s per attempt.
constexpr uint32_t timeout_ms = 10'000;
/// Deliveries in flight to one target: a slow target holds at most these
/// of the workers.
constexpr size_t per_target_concurrency = 4;
/// Failures in a row after which a target is left alone for the cooldown.
constexpr uint32_t breaker_failures = 5;
constexpr uint32_t breaker_cooldown_ms = 30'000;
/// How often the workers look for due deliveries when none woke them.
constexpr uint32_t poll_interval_ms = 250;
/// A claimed delivery not finished by then is taken up again (by this or
/// another instance): longer than any attempt with its timeouts.
constexpr uint32_t claim_lease_ms = 60'000;
constexpr uint32_t log_retention_days = 30;
} // namespace webhooks

namespace replication {
/// Copies at once over all policies.
constexpr size_t workers = 4;
/// Harbor's job service retries a replication job a few times.
constexpr uint32_t max_retries = 3;
constexpr uint32_t retry_base_ms = 5'000;
constexpr uint32_t retry_max_ms = 600'000;
constexpr uint32_t poll_interval_ms = 500;
/// Renewed every third of it while a copy runs: a worker that died frees
/// its repository within it.
constexpr uint32_t claim_lease_ms = 30'000;
/// Ended executions (and their tasks) older than this are deleted, as
/// webhook deliveries are after `webhooks.log_retention_days`.
constexpr uint32_t execution_retention_days = 30;
} // namespace replication

namespace scanning {
constexpr size_t workers = 4;
/// Retries of an adapter that is down, spread over about ten minutes.
constexpr uint32_t max_retries = 8;
constexpr uint32_t retry_base_ms = 5'000;
constexpr uint32_t retry_max_ms = 300'000;
constexpr uint32_t poll_interval_ms = 500;
constexpr uint32_t claim_lease_ms = 60'000;
/// Trivy scans a large image in minutes; an adapter still at it after an
/// hour is stuck.
constexpr uint32_t report_deadline_s = 3'600;
constexpr uint32_t timeout_ms = 30'000;
constexpr uint32_t metadata_cache_s = 3'600;
/// The spec's default when a 302 names no `Refresh-After` (Harbor's too).
constexpr uint32_t refresh_after_s = 5;
/// Requests to adapters carry it.
constexpr const char* user_agent = "regevent-scanner";
} // namespace scanning

namespace auth {
/// Failed authentications from one address in the window before 429: a
/// script with a stale token trips it quickly, a person retyping does not.
constexpr uint32_t max_failures = 20;
constexpr uint32_t failure_window_s = 60;
} // namespace auth

namespace reconcile {
/// Repositories walked at once.
constexpr size_t concurrency = 4;
/// Requests per second to the registry, over every walker: a 100 000
/// repository catalog takes hours, and the registry serves its users
/// meanwhile.
constexpr uint32_t rate = 50;
/// Repositories and tags per page of the catalog and of a tag list
/// (Distribution's `n`).
constexpr uint32_t page_size = 100;
/// A run unrenewed for this long (its instance died) fails and the next
/// may start. The run renews it with every repository it applies, so it
/// must outlast one step: `concurrency` repositories walked at `rate`
/// (ten minutes: 30 000 requests at the default rate).
constexpr uint32_t lease_ms = 600'000;
/// How often an instance looks for a run it should take (one asked for
/// through another instance, or a schedule come due).
constexpr uint32_t poll_interval_ms = 5'000;
/// Runs kept for `GET /api/v2.0/system/reconcile`.
constexpr long long runs_shown = 10;
/// The walk's requests carry it: `filter::internal_user_agents` knows it,
/// so that its HEADs of manifests never count as pulls.
constexpr const char* user_agent = "regevent-reconcile";
} // namespace reconcile

namespace artifact_details {
/// The inspector's requests carry it: `filter::internal_user_agents` knows
/// it, so that reading an artifact's manifest and config never counts as a
/// pull.
constexpr const char* user_agent = "regevent-inspector";
/// How often the worker looks for artifacts without details: a push is
/// described within seconds, and an idle daemon asks one cheap query.
constexpr uint32_t poll_interval_ms = 5'000;
/// Artifacts taken per look; a backlog (the first start over a large
/// registry) is worked through batch after batch without waiting.
constexpr size_t batch_size = 16;
/// Artifacts read from the registry at once: a few, so that a backlog of
/// thousands does not load the registry its users pull from.
constexpr size_t concurrency = 4;
/// A failed read is tried again after a doubling delay with jitter, from
/// the base to the cap; after `max_attempts` it stays `failed`.
constexpr uint32_t retry_base_ms = 10'000;
constexpr uint32_t retry_max_ms = 3'600'000;
constexpr double retry_jitter = 0.2;
/// Enough for a registry down for a day (the delay reaches the hour cap
/// after nine attempts).
constexpr uint32_t max_attempts = 30;
/// A manifest the registry does not have (404) or that regevent cannot
/// read will not change by itself: tried again rarely (a day), in case
/// the registry held it back or regevent learns more in an upgrade.
constexpr uint32_t permanent_retry_ms = 86'400'000;
/// The image config read for its attributes. Real ones are a few KiB
/// (ones with a long history tens of KiB); a larger blob is no config
/// worth holding in memory.
constexpr size_t config_limit = 1 << 20;
/// Children of an index whose manifests are read for the index's size
/// (Harbor adds each child's own size); past it a child counts with its
/// descriptor's size only. Multi-platform images have a few.
constexpr size_t max_children = 64;
/// A stored error is cut to this many bytes.
constexpr size_t error_limit = 2'000;
/// One request of a read (a manifest, a config): short, so that a stop
/// waits little for a read in progress; a manifest or config is small.
constexpr uint32_t request_timeout_ms = 10'000;
} // namespace artifact_details

namespace registry {
/// Replication's requests carry it: `filter::internal_user_agents` knows
/// the prefix, so that the copy's own pulls of the source never count.
constexpr const char* user_agent = "regevent-replicator";
/// One request of the Registry API v2 (a manifest, a HEAD, a token, a
/// page of tags): the outbound client's total timeout.
constexpr uint32_t request_timeout_ms = 30'000;
/// One piece of a blob copy (a PATCH of `chunk_size` bytes, and as much
/// of the source's GET per piece): generous, a slow link moves a few MiB
/// in it.
constexpr uint32_t chunk_timeout_ms = 120'000;
/// A blob copy's piece: the source's GET is streamed into pieces of this
/// size, each uploaded as one PATCH while the GET reads the next (two in
/// memory at once); a blob no larger goes in one PUT. A few MiB: a
/// 512 MiB layer must not grow the daemon.
constexpr size_t chunk_size = 4 << 20;
/// The largest manifest or index accepted; Distribution refuses larger
/// ones itself (4 MiB).
constexpr size_t manifest_limit = 4 << 20;
/// A token response without `expires_in` lasts this long (the Docker
/// token specification's default).
constexpr uint32_t token_default_expiry_s = 60;
/// A cached token is renewed this long before it expires (or at half its
/// lifetime when that is shorter), so that it never expires in flight.
constexpr uint32_t token_renew_margin_s = 10;
/// A request body up to this size (a manifest) is kept for the one retry
/// after a 401; a blob's piece is sent once, after the upload's POST has
/// answered the challenge.
constexpr size_t retry_body_limit = 64 * 1024;
/// `Location` redirects followed for one blob GET (storage back ends
/// answer 307 to a signed URL).
constexpr int max_redirects = 3;
/// Levels of indexes within indexes an image copy follows: OCI allows the
/// nesting, real images use one level; a cycle of digests is impossible,
/// but a bound keeps a hostile source from making the copy recurse deep.
constexpr int max_index_depth = 4;
} // namespace registry

} // namespace regevent::defaults
