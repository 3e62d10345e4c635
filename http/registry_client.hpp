#pragma once

#include "config/defaults.hpp"
#include "http/client.hpp"
#include "http/registry_auth.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// A client of the Registry HTTP API v2 (CNCF Distribution, Harbor, any OCI
/// distribution registry) over the outbound client: ping, Basic and Bearer
/// auth, manifests, blobs (existence, cross-repository mount, a copy from
/// another registry in bounded pieces), tags and catalog. Replication and
/// the registries API build on it. Its calls block: they run on a worker's
/// thread, never on an actor's cooperative scheduler or the outbound
/// client's io thread.
namespace regevent {

/// The manifest media types a copy asks for and accepts.
namespace media_type {
constexpr const char* docker_manifest
    = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* docker_manifest_list
    = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr const char* oci_manifest
    = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
} // namespace media_type

/// One registry and how to reach it.
struct registry_endpoint {
  /// `http[s]://host[:port]`, without a path: the API lives under /v2/.
  std::string url;
  /// Basic credentials, sent to the registry when it asks for Basic and to
  /// its token service when it asks for Bearer. Empty: anonymous.
  std::string username;
  std::string password;
  outbound_tls_options tls;
};

struct registry_client_config {
  /// Replication sends `regevent-replicator/<version>`.
  std::string user_agent = defaults::registry::user_agent;
  std::chrono::milliseconds request_timeout{
      defaults::registry::request_timeout_ms};
  std::chrono::milliseconds chunk_timeout{defaults::registry::chunk_timeout_ms};
  /// Bytes per PATCH of a blob copy, held while it is sent; a blob no
  /// larger is uploaded in one PUT. Bounds the memory of a copy.
  size_t chunk_size = defaults::registry::chunk_size;
  size_t manifest_limit = defaults::registry::manifest_limit;
  /// The rate of a blob copy in KiB/s (a policy's `speed`); 0: unlimited.
  uint64_t rate_limit_kib = 0;
};

/// Why a registry call failed: which step, the HTTP status and the
/// registry's error code, or the transport's failure. Never holds a
/// credential, a token or a URL's query.
struct registry_error {
  /// What was being done: "GET manifest library/hello:1".
  std::string step;
  /// The answer's status; 0 when there was none (see `transport`).
  unsigned status = 0;
  /// The first `errors[].code` of the registry's JSON body
  /// ("MANIFEST_UNKNOWN", "DENIED"), if any.
  std::string code;
  /// Its `errors[].message`, or what went wrong otherwise.
  std::string message;
  outbound_error transport = outbound_error::none;

  /// One line for a log or a task's error column.
  std::string text() const;
};

/// A value or the error that prevented it.
template<class T>
class registry_result {
public:
  registry_result(T value) : value_(std::move(value)) {}
  registry_result(registry_error error) : error_(std::move(error)) {}

  explicit operator bool() const {
    return value_.has_value();
  }
  T& operator*() {
    return *value_;
  }
  const T& operator*() const {
    return *value_;
  }
  T* operator->() {
    return &*value_;
  }
  const T* operator->() const {
    return &*value_;
  }
  const registry_error& error() const {
    return error_;
  }

private:
  std::optional<T> value_;
  registry_error error_;
};

/// Nothing to return but success.
struct registry_done {};

/// One page of a list (the catalog, a repository's tags).
struct registry_page {
  std::vector<std::string> items;
  /// The registry named a next page (a `Link` header): it starts after
  /// the last item of this one.
  bool more = false;
};

/// A manifest as the registry stores it: copy `bytes` as they are, so that
/// the digest stays the same.
struct registry_manifest {
  std::string bytes;
  /// The answer's Content-Type.
  std::string media_type;
  /// `Docker-Content-Digest`; empty when the registry sent none (compare
  /// with `sha256_of(bytes)` before trusting either).
  std::string digest;
};

/// What a HEAD of a manifest tells: it exists, with this digest.
struct registry_manifest_info {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

/// How a blob reached the destination.
enum class blob_copy_method {
  /// It was there already.
  existed,
  /// Mounted from another repository of the same registry.
  mounted,
  /// Uploaded in one PUT.
  monolithic,
  /// Uploaded in PATCHes, then a PUT with the digest.
  chunked,
};

const char* to_string(blob_copy_method m);

struct blob_copy_report {
  blob_copy_method method = blob_copy_method::existed;
  /// Bytes read from the source (0 when nothing was uploaded).
  uint64_t bytes = 0;
};

/// `sha256:` and the lowercase hex SHA-256 of `bytes` (OpenSSL EVP).
std::string sha256_of(std::string_view bytes);

/// The calls of the Registry API v2 against one registry. Thread-safe:
/// workers share one per registry, and with it its cached tokens.
class registry_client {
public:
  /// `client` must outlive this.
  registry_client(outbound_client& client, registry_endpoint endpoint,
                  registry_client_config cfg = {});

  const registry_endpoint& endpoint() const {
    return endpoint_;
  }
  const registry_client_config& config() const {
    return cfg_;
  }

  /// GET /v2/: the registry answers and accepts the credentials.
  registry_result<registry_done> ping();

  /// GET a manifest by tag or digest, accepting Docker schema 2, manifest
  /// lists, OCI manifests and indexes.
  registry_result<registry_manifest> get_manifest(const std::string& repository,
                                                  const std::string& reference);

  /// HEAD of a manifest; nothing (and no error) when the registry answers
  /// 404.
  registry_result<std::optional<registry_manifest_info>>
  head_manifest(const std::string& repository, const std::string& reference);

  /// The Authorization another client may send to read `repository` (a
  /// scanner adapter pulling it for a scan): HEADs the manifest, which
  /// answers the registry's challenge and caches the token of the
  /// repository's pull scope, then gives that header's value: `Basic ...`,
  /// `Bearer <token>`, or empty when the registry asks for none. An error
  /// when the manifest is not there (404) or cannot be reached.
  registry_result<std::string> pull_authorization(const std::string& repository,
                                                  const std::string& reference);

  /// PUT a manifest by tag or digest, as `media_type`; returns the digest
  /// the registry computed.
  registry_result<std::string>
  put_manifest(const std::string& repository, const std::string& reference,
               const std::string& bytes, const std::string& media_type);

  /// DELETE a manifest by digest (the registry untags every tag on it):
  /// true when deleted (202, or 200 from registries that answer so), false
  /// when the registry does not hold it (404). Distribution answers 405
  /// when its deletes are disabled: an error.
  registry_result<bool> delete_manifest(const std::string& repository,
                                        const std::string& digest);

  /// HEAD of a blob: its size, or nothing when the registry answers 404.
  registry_result<std::optional<uint64_t>>
  blob_size(const std::string& repository, const std::string& digest);

  /// GET a small blob (an image config) whole, following the registry's
  /// redirects to its storage as a blob copy does; one larger than
  /// `limit` bytes is an error (`outbound_error::too_large`), never read.
  /// Its digest is checked when it is a SHA-256.
  registry_result<std::string> get_blob(const std::string& repository,
                                        const std::string& digest,
                                        size_t limit);

  /// Mounts `digest` from repository `from` of this registry into
  /// `repository`: true when the registry mounted it (201); false when it
  /// opened an upload instead (202), which is cancelled.
  registry_result<bool> mount_blob(const std::string& repository,
                                   const std::string& digest,
                                   const std::string& from);

  /// Copies the blob `digest` of `size` bytes from `source`'s
  /// `source_repository` into `repository` here: nothing when it is
  /// already here; a mount when `source` is this registry (with a
  /// fallback to the upload when the registry declines); otherwise the
  /// source's GET streamed into the upload as it is read: one PUT when
  /// the blob fits one `chunk_size` piece, else a PATCH per piece while
  /// the GET reads the next, its digest checked before the final PUT names
  /// it. About two pieces are in memory at once, whatever the blob's size.
  /// `cancel`, when set, is looked at between pieces and while the rate
  /// limit waits: a set flag abandons the upload.
  registry_result<blob_copy_report>
  copy_blob(registry_client& source, const std::string& source_repository,
            const std::string& repository, const std::string& digest,
            uint64_t size, const std::atomic<bool>* cancel = nullptr);

  /// Every tag of `repository`, `page_size` per request (0: the registry's
  /// default), following the `Link` header.
  registry_result<std::vector<std::string>>
  list_tags(const std::string& repository, size_t page_size = 0);

  /// Every repository of the registry (`/v2/_catalog`), paged the same way.
  registry_result<std::vector<std::string>> catalog(size_t page_size = 0);
  /// One page of the catalog: `page_size` repositories (0: the registry's
  /// default) after `last` (empty: from the first).
  registry_result<registry_page> catalog_page(size_t page_size,
                                              const std::string& last);
  /// One page of `repository`'s tags, the same way. A repository the
  /// registry does not know is an error with status 404.
  registry_result<registry_page> tags_page(const std::string& repository,
                                           size_t page_size,
                                           const std::string& last);

private:
  struct call;
  class blob_stream;

  /// Sends `c` with the authorization the registry wants, answering its
  /// Basic or Bearer challenge once. An error only when no request could
  /// be authorized (the token service failed); any answer is returned.
  registry_result<outbound_result> send(call c);
  /// Authorizes `c` as the last challenge asked (nothing before one).
  std::optional<registry_error> authorize_known(call& c);
  /// After `r` answered `c`: true when `c` now carries what the 401's
  /// challenge asks for and may go again, false when `r` is final.
  registry_result<bool> answer_challenge(call& c, const outbound_result& r);
  outbound_request request_of(const call& c, std::string body) const;
  /// A request to `/v2/<repository><path>`, needing pull (and with `push`,
  /// push) access to the repository.
  call repository_call(std::string method, const std::string& repository,
                       const std::string& path, bool push,
                       std::string step) const;
  /// send(), then an error for a transport failure or a status other than
  /// `expected` (and `also`, when not 0).
  registry_result<outbound_result> expect(call c, unsigned expected,
                                          unsigned also = 0);
  /// Sets `c`'s Authorization for `challenge`: `fresh` when it is the
  /// answer to `c` itself, `refused_before` when `c` was already sent
  /// with that scheme (its cached token is dropped).
  std::optional<registry_error> authorize(call& c, const auth_challenge& ch,
                                          bool fresh, bool refused_before);
  registry_result<std::string> fetch_token(const auth_challenge& challenge,
                                           const std::string& scope, bool fresh,
                                           const std::string& step);
  registry_error failure(const std::string& step,
                         const outbound_result& r) const;
  std::string absolute(const std::string& location) const;
  /// Every item of a paged list: page after page, each starting after
  /// the last item of the one before.
  registry_result<std::vector<std::string>>
  list(const std::string& path, size_t page_size, const std::string& scope,
       const char* field, const std::string& step);
  registry_result<registry_page> page(std::string path, size_t page_size,
                                      const std::string& last,
                                      const std::string& scope,
                                      const char* field,
                                      const std::string& step);
  /// A mount's POST: nothing when mounted, else the Location of the upload
  /// the registry opened instead (empty when it named none).
  registry_result<std::optional<std::string>>
  try_mount(const std::string& repository, const std::string& digest,
            const std::string& from, const std::string& step);
  registry_result<std::string> start_upload(const std::string& repository,
                                            const std::string& step);
  void cancel_upload(const std::string& location,
                     const std::string& repository);
  /// Starts the GET of a blob here into `stream`: done once its body
  /// flows, after a challenge and redirects.
  registry_result<registry_done>
  open_blob(const std::string& repository, const std::string& digest,
            uint64_t size, std::chrono::milliseconds timeout,
            blob_stream& stream, const std::string& step);
  /// Waits until `bytes` since `started` keep to the rate limit, or
  /// `cancel` is set (false then).
  bool throttle(std::chrono::steady_clock::time_point started, uint64_t bytes,
                const std::atomic<bool>* cancel) const;

  outbound_client& client_;
  const registry_endpoint endpoint_;
  const registry_client_config cfg_;
  token_cache tokens_;
  /// The last challenge answered: later requests send Basic, or ask a
  /// Bearer challenge's realm for their scope's token, before their first
  /// attempt instead of after a 401.
  std::mutex challenge_mtx_;
  std::optional<auth_challenge> challenge_;
};

} // namespace regevent
