#include "http/replication_port.hpp"

#include "http/client.hpp"
#include "http/image_copy.hpp"
#include "http/registry_client.hpp"

#include <thread>
#include <utility>

namespace regevent {

namespace {

registry_endpoint endpoint_of(std::string url, std::string username,
                              std::string password, bool insecure,
                              std::string ca_file) {
  registry_endpoint e;
  // The API lives under /v2/ of the origin.
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  e.url = std::move(url);
  e.username = std::move(username);
  e.password = std::move(password);
  e.tls.ca_file = std::move(ca_file);
  e.tls.skip_cert_verify = insecure;
  return e;
}

} // namespace

registry_endpoint endpoint_of(const replication_source& source) {
  return endpoint_of(source.url, source.username, source.password,
                     source.insecure, source.ca_file);
}

namespace {

replication_run_result failed(const registry_error& e) {
  replication_run_result r;
  r.error = e.text();
  r.transient = is_transient(e);
  return r;
}

replication_run_result run_job(outbound_client& client,
                               const replication_source& src,
                               const std::string& user_agent,
                               const replication_job& job,
                               const std::atomic<bool>& cancel) {
  registry_client_config cfg;
  cfg.user_agent = user_agent;
  cfg.rate_limit_kib = job.speed_kib > 0
                           ? static_cast<uint64_t>(job.speed_kib)
                           : 0;
  const auto& d = job.destination;
  registry_client destination(
      client,
      endpoint_of(d.url, d.credential.access_key, d.credential.access_secret,
                  d.insecure, d.ca_file),
      cfg);
  replication_run_result r;
  if (job.operation == replication_operation::deletion) {
    auto x = delete_image(destination, job.dst_repository, job.dst_reference);
    if (!x)
      return failed(x.error());
    r.ok = true;
    r.digest = x->digest;
    if (x->absent)
      r.skipped = "the destination does not have " + job.dst_repository + ":"
                  + job.dst_reference;
    return r;
  }
  registry_client source(client,
                         endpoint_of(src.url, src.username, src.password,
                                     src.insecure, src.ca_file),
                         cfg);
  image_copy_request req;
  req.source_repository = job.src_repository;
  // By the pushed digest when the task knows it: Distribution notifies a
  // tagged push before it links the tag, so the tag may not resolve yet
  // (404) when a worker is quick, and by the time it does it may name a
  // later push. A manual run's task has no digest until it is copied.
  req.reference = job.digest.empty() ? job.src_reference : job.digest;
  req.destination_repository = job.dst_repository;
  req.destination_tag = job.dst_reference.rfind("sha256:", 0) == 0
                            ? std::string()
                            : job.dst_reference;
  req.override_tags = job.override_tags;
  auto x = copy_image(source, destination, req, &cancel);
  if (!x)
    return failed(x.error());
  r.ok = true;
  r.digest = x->digest;
  r.bytes_copied = x->bytes_copied;
  r.skipped = x->skipped;
  return r;
}

class registry_replication_port final : public replication_port {
public:
  registry_replication_port(std::shared_ptr<outbound_client> client,
                            replication_source source, std::string user_agent)
      : client_(std::move(client)),
        source_(std::make_shared<const replication_source>(std::move(source))),
        user_agent_(std::move(user_agent)) {}

  void run(replication_job job, std::shared_ptr<std::atomic<bool>> cancel,
           std::function<void(replication_run_result)> done) override {
    // Detached: the worker bounds how many run at once, and each keeps
    // what it uses alive (the client, the source) by its own pointers.
    std::thread([client = client_, source = source_, ua = user_agent_,
                 job = std::move(job), cancel = std::move(cancel),
                 done = std::move(done)]() mutable {
      replication_run_result r;
      try {
        r = run_job(*client, *source, ua, job, *cancel);
      } catch (const std::exception& e) {
        r = {};
        r.error = std::string("copy failed: ") + e.what();
        r.transient = true;
      }
      done(std::move(r));
    }).detach();
  }

  void list(replication_policy policy,
            std::function<void(std::vector<replication_listed>, std::string)>
                done) override {
    std::thread([client = client_, source = source_, ua = user_agent_,
                 policy = std::move(policy), done = std::move(done)]() mutable {
      std::vector<replication_listed> found;
      std::string error;
      try {
        registry_client_config cfg;
        cfg.user_agent = ua;
        registry_client registry(*client,
                                 endpoint_of(source->url, source->username,
                                             source->password,
                                             source->insecure,
                                             source->ca_file),
                                 cfg);
        auto repositories = registry.catalog();
        if (!repositories)
          throw std::runtime_error(repositories.error().text());
        for (const auto& repository : *repositories) {
          // A name filter decides before the tags are read.
          if (!policy_selects_name(policy.filters, repository))
            continue;
          auto tags = registry.list_tags(repository);
          if (!tags)
            throw std::runtime_error(tags.error().text());
          for (const auto& tag : *tags)
            if (policy_selects(policy.filters, repository, tag))
              found.push_back({repository, tag});
        }
      } catch (const std::exception& e) {
        found.clear();
        error = e.what();
      }
      done(std::move(found), std::move(error));
    }).detach();
  }

private:
  static bool policy_selects_name(const std::vector<replication_filter>& f,
                                  const std::string& repository) {
    std::vector<replication_filter> names;
    for (const auto& x : f)
      if (x.type == "name")
        names.push_back(x);
    return policy_selects(names, repository, "");
  }

  std::shared_ptr<outbound_client> client_;
  std::shared_ptr<const replication_source> source_;
  std::string user_agent_;
};

} // namespace

std::shared_ptr<replication_port>
make_replication_port(std::shared_ptr<outbound_client> client,
                      replication_source source, std::string user_agent) {
  return std::make_shared<registry_replication_port>(
      std::move(client), std::move(source), std::move(user_agent));
}

} // namespace regevent
