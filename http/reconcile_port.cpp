#include "http/reconcile_port.hpp"

#include "http/client.hpp"
#include "http/fan_out.hpp"
#include "http/registry_client.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

namespace regevent {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

/// Spreads requests evenly at `rate` per second over every walker thread:
/// each request takes the next free slot and waits for it.
class request_pacer {
public:
  explicit request_pacer(uint32_t rate)
      : interval_(rate > 0 ? std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(1.0 / rate))
                           : clock_type::duration::zero()) {}

  /// Waits for the next slot; false when `stop` was set (at once, or
  /// while waiting).
  bool wait(const std::atomic<bool>& stop) {
    if (stop)
      return false;
    if (interval_ == clock_type::duration::zero())
      return true;
    clock_type::time_point slot;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      auto now = clock_type::now();
      next_ = std::max(next_, now);
      slot = next_;
      next_ += interval_;
    }
    // In short sleeps: a stop does not wait for a far slot.
    while (clock_type::now() < slot) {
      if (stop)
        return false;
      std::this_thread::sleep_until(
          std::min(slot, clock_type::now() + std::chrono::milliseconds(50)));
    }
    return !stop;
  }

private:
  const clock_type::duration interval_;
  std::mutex mtx_;
  clock_type::time_point next_{};
};

bool is_index(const std::string& media_type) {
  return media_type == media_type::oci_index
         || media_type == media_type::docker_manifest_list;
}

/// The children an index names, as manifests the registry holds.
std::vector<observed_artifact> children_of(const std::string& bytes) {
  std::vector<observed_artifact> out;
  auto doc = json::parse(bytes, nullptr, false);
  if (!doc.is_object() || !doc.contains("manifests")
      || !doc["manifests"].is_array())
    return out;
  for (const auto& m : doc["manifests"]) {
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string())
      continue;
    observed_artifact a;
    a.digest = m["digest"].get<std::string>();
    if (m.contains("mediaType") && m["mediaType"].is_string())
      a.media_type = m["mediaType"].get<std::string>();
    if (m.contains("size") && m["size"].is_number_integer())
      a.size = m["size"].get<long long>();
    out.push_back(std::move(a));
  }
  return out;
}

class registry_reconcile_port final : public reconcile_port {
public:
  registry_reconcile_port(std::shared_ptr<outbound_client> client,
                          replication_source source,
                          reconcile_walk_options options)
      : client_(std::move(client)),
        configured_(!source.url.empty()),
        options_(std::move(options)),
        pacer_(options_.rate) {
    registry_client_config cfg;
    cfg.user_agent = options_.user_agent;
    // One client for the whole walk: its tokens are cached per scope.
    registry_
        = std::make_unique<registry_client>(*client_, endpoint_of(source), cfg);
  }

  void stop() override {
    stopping_ = true;
  }

  reconcile_catalog_page catalog_page(const std::string& last) override {
    reconcile_catalog_page out;
    if (!configured_) {
      out.error = "no source_registry.url is configured";
      return out;
    }
    try {
      if (!pacer_.wait(stopping_)) {
        out.error = stopped;
        return out;
      }
      auto page = registry_->catalog_page(options_.page_size, last);
      if (!page) {
        out.error = page.error().text();
        return out;
      }
      out.repositories = std::move(page->items);
      if (page->more)
        out.next = out.repositories.back();
    } catch (const std::exception& e) {
      out.error = std::string("listing the catalog failed: ") + e.what();
    }
    return out;
  }

  std::vector<reconcile_walk>
  walk(const std::vector<reconcile_walk_request>& repositories) override {
    std::vector<reconcile_walk> out(repositories.size());
    fan_out(options_.concurrency, repositories.size(), [&](size_t i) {
      try {
        out[i] = walk_one(repositories[i]);
      } catch (const std::exception& e) {
        out[i].error = std::string("the walk failed: ") + e.what();
      }
    });
    return out;
  }

private:
  reconcile_walk walk_one(const reconcile_walk_request& request) {
    reconcile_walk out;
    auto& o = out.observation;
    o.repository = request.repository;
    // Whatever changes after this is newer than what the walk saw.
    o.observed_at = now_us();
    // Waits for the next request's slot; false (the walk's error set)
    // when the daemon stops.
    auto paced = [&] {
      if (pacer_.wait(stopping_))
        return true;
      out.error = stopped;
      return false;
    };
    std::vector<std::string> tags;
    std::string last;
    for (;;) {
      if (!paced())
        return out;
      auto page = registry_->tags_page(request.repository, options_.page_size,
                                       last);
      if (!page) {
        // NAME_UNKNOWN: no tags (all deleted, or pushed by digest only).
        // Only the catalog says the repository is gone; its known digests
        // are asked for below.
        if (page.error().status == 404)
          break;
        out.error = page.error().text();
        return out;
      }
      tags.insert(tags.end(), page->items.begin(), page->items.end());
      if (!page->more)
        break;
      last = page->items.back();
    }
    std::set<std::string> seen;
    auto see = [&](observed_artifact a) {
      if (seen.insert(a.digest).second)
        o.artifacts.push_back(std::move(a));
    };
    std::set<std::string> indexes_read;
    for (const auto& tag : tags) {
      if (!paced())
        return out;
      auto head = registry_->head_manifest(request.repository, tag);
      if (!head) {
        out.error = head.error().text();
        return out;
      }
      // Untagged between the list and the HEAD: not there any more.
      if (!*head)
        continue;
      auto info = std::move(**head);
      if (info.digest.empty()) {
        // A registry that names no digest in a HEAD: the manifest's own.
        if (!paced())
          return out;
        auto m = registry_->get_manifest(request.repository, tag);
        if (!m) {
          out.error = m.error().text();
          return out;
        }
        info.digest = sha256_of(m->bytes);
      }
      o.tags.push_back({tag, info.digest});
      see({info.digest, info.media_type, static_cast<long long>(info.size)});
      // An index's children are artifacts of their own (Distribution
      // notifies each as a push by digest).
      if (is_index(info.media_type)
          && indexes_read.insert(info.digest).second) {
        if (!paced())
          return out;
        auto m = registry_->get_manifest(request.repository, info.digest);
        if (!m) {
          out.error = m.error().text();
          return out;
        }
        for (auto& child : children_of(m->bytes))
          see(std::move(child));
      }
    }
    // What regevent shows that no tag reached: still held by digest, or
    // gone.
    for (const auto& digest : request.known_digests) {
      if (seen.count(digest) > 0)
        continue;
      if (!paced())
        return out;
      auto head = registry_->head_manifest(request.repository, digest);
      if (!head) {
        out.error = head.error().text();
        return out;
      }
      if (!*head)
        o.absent.push_back(digest);
      else
        see({digest, (*head)->media_type, static_cast<long long>((*head)->size)});
    }
    return out;
  }

  static constexpr const char* stopped = "stopped: the daemon shuts down";

  std::shared_ptr<outbound_client> client_;
  const bool configured_;
  std::atomic<bool> stopping_{false};
  const reconcile_walk_options options_;
  request_pacer pacer_;
  std::unique_ptr<registry_client> registry_;
};

} // namespace

std::shared_ptr<reconcile_port>
make_reconcile_port(std::shared_ptr<outbound_client> client,
                    replication_source source, reconcile_walk_options options) {
  return std::make_shared<registry_reconcile_port>(
      std::move(client), std::move(source), std::move(options));
}

} // namespace regevent
