#pragma once

/// The door from the reconcile actor to the source registry. The walk runs
/// over the Registry API v2 client in http/, which the actors may not
/// include; the daemon hands the actor a `reconcile_port` over it
/// (http/reconcile_port.hpp). Its calls block: the reconcile actor is
/// detached.

#include "persistence/reconcile.hpp"

#include <string>
#include <vector>

namespace regevent {

/// One page of the registry's catalog.
struct reconcile_catalog_page {
  std::vector<std::string> repositories;
  /// Where the next page starts (`last`); empty: this was the last page.
  std::string next;
  /// Not empty: the page could not be read, and this says why.
  std::string error;
};

/// A repository to walk, with the digests regevent shows of it: the ones
/// no tag names are asked for by digest, to tell a manifest left untagged
/// from one deleted.
struct reconcile_walk_request {
  std::string repository;
  std::vector<std::string> known_digests;
};

/// What the walk of one repository saw, as an observation (its
/// `repository`, `listed`, `observed_at`, tags, artifacts and absent
/// digests; the project is the caller's to set), or why it failed.
struct reconcile_walk {
  reconcile_observation observation;
  /// Not empty: the walk failed and `observation` is not to be applied.
  std::string error;
};

class reconcile_port {
public:
  virtual ~reconcile_port() = default;

  /// The daemon stops: calls in progress end soon with an error, between
  /// two requests (and out of a rate wait), and later ones at once.
  virtual void stop() = 0;

  /// The catalog page after `last` (empty: the first page).
  virtual reconcile_catalog_page catalog_page(const std::string& last) = 0;

  /// Walks each repository (its tag list, every tag's manifest, an index's
  /// children, the known digests no tag names), several at once and
  /// within the request rate; one result per request, in order. Only the
  /// catalog says a repository is gone: one whose tag list the registry
  /// answers NAME_UNKNOWN for (no tags left, or pushed by digest only) is
  /// walked as one without tags, its known digests asked for one by one.
  virtual std::vector<reconcile_walk>
  walk(const std::vector<reconcile_walk_request>& repositories) = 0;
};

} // namespace regevent
