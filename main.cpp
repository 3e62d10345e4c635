// regeventd: wires the libraries together. All logic lives in config/,
// persistence/, actors/ and http/.

#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/runtime.hpp"
#include "actors/system.hpp"
#include "config/config.hpp"
#include "config/defaults.hpp"
#include "config/logging.hpp"
#include "http/address_guard.hpp"
#include "http/artifact_details_port.hpp"
#include "http/client.hpp"
#include "http/outbound_port.hpp"
#include "http/reconcile_port.hpp"
#include "http/replication_port.hpp"
#include "http/scanner_port.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"
#include "persistence/migrations.hpp"

#include <CLI/CLI.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

namespace {

/// Blocks SIGTERM, SIGINT and SIGHUP in every thread (threads inherit the
/// mask), so that only the main thread's sigwait sees them. SIGHUP's
/// default action would end the daemon that `systemctl reload` and
/// logrotate only meant to make reopen its log file.
sigset_t block_handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// Exit codes a service manager tells apart: 2 never heals by restarting
/// (systemd's RestartPreventExitStatus), nor does 3.
constexpr int exit_invalid_config = 2;
constexpr int exit_schema_too_new = 3;

std::string version_text() {
  std::string text = std::string("regeventd ") + REGEVENT_VERSION;
#ifdef REGEVENT_GIT_DESCRIBE
  text += std::string(" (git ") + REGEVENT_GIT_DESCRIBE + ")";
#endif
  return text;
}

/// `regeventd migrate`: brings the schema up to date and says from which
/// version to which, so that an operator can migrate before starting a
/// new version (or check that a database is current) without starting it.
int run_migrate(const regevent::config& cfg) {
  const auto& where = cfg.database.parsed.redacted;
  try {
    regevent::database db(cfg);
    auto summary = regevent::migrate_schema(db);
    if (summary.from == summary.to)
      std::cout << "regeventd: " << where << " is at schema version "
                << summary.to << ", the newest this regeventd knows: "
                << "nothing to migrate\n";
    else
      std::cout << "regeventd: migrated " << where << " from schema version "
                << summary.from << " to " << summary.to << "\n";
    return 0;
  } catch (const regevent::schema_too_new& e) {
    std::cerr << "regeventd: cannot migrate " << where << ": " << e.what()
              << "\n";
    return exit_schema_too_new;
  } catch (const std::exception& e) {
    std::cerr << "regeventd: cannot migrate " << where << ": " << e.what()
              << "\n";
    return 1;
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"regeventd: container-registry event daemon"};
  std::string config_path;
  bool check_config = false;
  std::string port_file;
  app.add_option("-c,--config", config_path, "YAML configuration file");
  app.add_option("--port-file", port_file,
                 "write the bound port to this file once listening (for "
                 "supervisors and tests that listen on port 0)");
  auto* check_flag = app.add_flag(
      "--check-config", check_config,
      "validate and print the effective configuration, then exit");
  app.set_version_flag("--version", version_text());
  // Options given after the subcommand (`regeventd migrate --config F`)
  // belong to the main command: the subcommand has none of its own.
  app.fallthrough();
  auto* migrate_cmd = app.add_subcommand(
      "migrate",
      "apply the schema migrations to the configured database, say from "
      "which version to which, and exit (3: the database is newer than "
      "this binary)");
  migrate_cmd->excludes(check_flag);
  CLI11_PARSE(app, argc, argv);

  regevent::config cfg;
  try {
    cfg = regevent::load_config(config_path);
  } catch (const regevent::config_error& e) {
    std::cerr << "regeventd: invalid configuration: " << e.what() << "\n";
    return exit_invalid_config;
  }
#ifndef REGEVENT_WITH_FAULT_INJECTION
  // A release build has no injection code: a configuration that asks for a
  // fault would otherwise run without the faults its author expects.
  if (cfg.faults.mode != regevent::fault_mode::none) {
    std::cerr << "regeventd: invalid configuration: fault_injection (or "
                 "REGEVENT_FAULT_INJECTION) asks for faults, but this build "
                 "has no fault injection (a test-only feature: configure "
                 "with -DREGEVENT_FAULT_INJECTION=ON)\n";
    return exit_invalid_config;
  }
#endif
  if (check_config) {
    std::cout << regevent::to_yaml(cfg);
    return 0;
  }
  if (migrate_cmd->parsed())
    return run_migrate(cfg);

  auto signals = block_handled_signals();
  try {
    regevent::setup_logging(cfg);
  } catch (const regevent::config_error& e) {
    std::cerr << "regeventd: invalid configuration: " << e.what() << "\n";
    return exit_invalid_config;
  }

  regevent::runtime rt;
  rt.cfg = std::make_shared<const regevent::config>(cfg);
  rt.stats = std::make_shared<regevent::metrics>();
  rt.status = std::make_shared<regevent::health>();
  rt.instance_id = boost::uuids::to_string(boost::uuids::random_generator()());
  // Declared before the actors: it outlives them, so that a delivery in
  // flight is answered (or failed with `shutdown`) before the client goes.
  regevent::outbound_client_config outbound_cfg;
  // Every delivery a target may have in flight gets a connection of its
  // own (targets on one origin share the pool).
  outbound_cfg.max_connections_per_origin
      = std::max(outbound_cfg.max_connections_per_origin,
                 cfg.webhooks.per_target_concurrency);
  outbound_cfg.max_idle_per_origin = outbound_cfg.max_connections_per_origin;
  auto outbound = std::make_shared<regevent::outbound_client>(outbound_cfg);
  rt.outbound = regevent::make_outbound_port(
      outbound, std::make_shared<const regevent::address_guard>(
                    cfg.webhooks.allow_networks));
  // Registries are the operator's own configuration (the API is behind
  // the admin token): the copy is not held to the webhook guard.
  rt.replication = regevent::make_replication_port(
      outbound,
      {cfg.source_registry.url, cfg.source_registry.insecure,
       cfg.source_registry.ca_file, cfg.source_registry.username,
       cfg.source_registry.password},
      std::string(regevent::defaults::registry::user_agent) + "/"
          + REGEVENT_VERSION);
  // Adapters are registered through the admin API, as registries are.
  rt.scanning = regevent::make_scanner_port(
      outbound,
      {cfg.source_registry.url, cfg.source_registry.insecure,
       cfg.source_registry.ca_file, cfg.source_registry.username,
       cfg.source_registry.password},
      cfg.scanning.registry_url,
      std::string(regevent::defaults::scanning::user_agent) + "/"
          + REGEVENT_VERSION,
      std::chrono::milliseconds(cfg.scanning.timeout_ms));
  // The reconcile walks the registry that notifies, with its pull
  // credential, at the configured rate.
  {
    regevent::reconcile_walk_options walk;
    walk.concurrency = cfg.reconcile.concurrency;
    walk.rate = cfg.reconcile.rate;
    walk.page_size = cfg.reconcile.page_size;
    walk.user_agent = std::string(regevent::defaults::reconcile::user_agent)
                      + "/" + REGEVENT_VERSION;
    rt.reconcile = regevent::make_reconcile_port(
        outbound,
        {cfg.source_registry.url, cfg.source_registry.insecure,
         cfg.source_registry.ca_file, cfg.source_registry.username,
         cfg.source_registry.password},
        std::move(walk));
  }
  // What a notification does not say about an artifact is read from the
  // registry that notifies, once per artifact; without its URL the fields
  // stay unknown.
  if (!cfg.source_registry.url.empty()) {
    regevent::artifact_details_options read;
    read.concurrency = regevent::defaults::artifact_details::concurrency;
    read.user_agent
        = std::string(regevent::defaults::artifact_details::user_agent) + "/"
          + REGEVENT_VERSION;
    rt.details = regevent::make_artifact_details_port(
        outbound,
        {cfg.source_registry.url, cfg.source_registry.insecure,
         cfg.source_registry.ca_file, cfg.source_registry.username,
         cfg.source_registry.password},
        std::move(read));
  }

  try {
    regevent::database db(cfg);
    auto schema = regevent::migrate_schema(db);
    if (schema.from != schema.to)
      spdlog::info("regeventd migrated the database from schema version {} "
                   "to {}",
                   schema.from, schema.to);
    regevent::ensure_project(db, cfg.filter.default_project);
    // Alive before any claim is made, so that other instances leave this
    // one's claims alone.
    regevent::journal_store(db).heartbeat(rt.instance_id, regevent::now_us());
    if (db.is_sqlite()) {
      // One instance owns a SQLite file: claims left by a crash are stale.
      // Released before any actor can claim anew.
      auto n = regevent::journal_store(db).release_all();
      if (n > 0)
        spdlog::info("regeventd released {} claims left by the last run", n);
    }
  } catch (const regevent::schema_too_new& e) {
    spdlog::critical("regeventd cannot use the database {}: {}",
                     cfg.database.parsed.redacted, e.what());
    return exit_schema_too_new;
  } catch (const std::exception& e) {
    spdlog::critical("regeventd cannot prepare the database {}: {}",
                     cfg.database.parsed.redacted, e.what());
    return 1;
  }

  // Each actor's configuration is validated before any actor starts: what
  // only an actor can check (a sealing key that does not decode) stops
  // start-up here, as a configuration error.
  std::unique_ptr<regevent::actor_runtime> runtime_holder;
  try {
    runtime_holder = std::make_unique<regevent::actor_runtime>(rt);
  } catch (const regevent::config_error& e) {
    std::cerr << "regeventd: invalid configuration: " << e.what() << "\n";
    return exit_invalid_config;
  }
  auto& actors = *runtime_holder;
  regevent::router route(rt, actors, outbound);
  regevent::http_server server(cfg, [&route](regevent::incoming_request&& req,
                                             regevent::responder reply_to) {
    route(std::move(req), std::move(reply_to));
  });
  uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    spdlog::critical("regeventd cannot listen on {}:{}: {}", cfg.listen_host,
                     cfg.listen_port, e.what());
    actors.stop();
    return 1;
  }
  if (!port_file.empty()) {
    // Written whole under a temporary name, then renamed: a reader never
    // sees a partial number.
    auto tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  spdlog::info("{} listening on {}:{} (database {}, instance {})",
               version_text(), cfg.listen_host, port,
               cfg.database.parsed.redacted, rt.instance_id);

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP)
      break;
    if (regevent::reopen_log_file())
      spdlog::info("regeventd received SIGHUP, reopened its log file");
    else
      spdlog::error("regeventd received SIGHUP but cannot open {}; it goes "
                    "on logging to the file it had open",
                    cfg.log.file);
    if (!cfg.tls.cert_file.empty()) {
      // Certificates renewed in place (certbot, cert-manager) take effect
      // without a restart: new handshakes use them.
      if (auto error = server.reload_tls(); error.empty())
        spdlog::info("regeventd reloaded its TLS certificate {}",
                     cfg.tls.cert_file);
      else
        spdlog::error("regeventd cannot reload TLS, it goes on with the "
                      "certificate it had: {}",
                      error);
    }
  }
  spdlog::info("regeventd received {}, shutting down (grace {} ms)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.shutdown_grace_ms);
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds(cfg.shutdown_grace_ms);
  rt.status->shutting_down = true;
  server.stop_accepting();
  if (!server.wait_idle(deadline))
    spdlog::warn("regeventd stops with requests unanswered; the registry "
                 "sends them again");
  actors.drain(deadline);
  server.stop();
  actors.stop();
  spdlog::info("regeventd stopped");
  spdlog::shutdown();
  return 0;
}
