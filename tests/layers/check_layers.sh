#!/usr/bin/env bash
# Checks the layers of DESIGN §4 on the source tree: which folder may
# include what. A violation prints the offending lines and fails (ctest
# `layers.check`). Usage: check_layers.sh SOURCE_DIR
set -u
root=${1:?usage: check_layers.sh SOURCE_DIR}
cd "$root" || exit 2
failed=0

# deny FOLDER PATTERN WHY: no line in FOLDER's sources may match PATTERN.
deny() {
  local folder=$1 pattern=$2 why=$3 hits
  hits=$(grep -rnP --include='*.cpp' --include='*.hpp' "$pattern" "$folder" \
         2>/dev/null)
  if [ -n "$hits" ]; then
    printf 'layer violation: %s\n%s\n\n' "$why" "$hits"
    failed=1
  fi
}

# config is the leaf.
deny config '#include "(persistence|actors|http)/' \
  "config/ includes a layer above it"
# persistence: records and stores; no actors, no HTTP, no CAF.
deny persistence '#include "(actors|http)/' \
  "persistence/ includes a layer above it"
deny persistence '#include <caf/|caf::|inspect\(' \
  "persistence/ knows CAF (inspect() overloads live in actors/atoms.hpp)"
deny persistence '#include <boost/beast' "persistence/ knows HTTP"
# actors: the protocol and the actors; no wire formats, no SQL.
deny actors '#include "http/' "actors/ includes http/"
deny actors '#include <boost/beast' "actors/ knows HTTP"
deny actors 'struct http_response|class reply_sink|responder' \
  "actors/ holds HTTP wire types"
deny actors '#include <soci/|soci::|persistence/rows\.hpp' \
  "actors/ runs SQL itself (all SQL lives in persistence/)"
# http: reaches the database only through the actors' runtime facade.
deny http '#include <soci/|soci::' "http/ runs SQL"
deny http '#include "persistence/(?!event\.hpp|catalog\.hpp|webhook\.hpp|webhook_delivery\.hpp|replication\.hpp|scanner\.hpp|scan\.hpp|reconcile\.hpp|artifact_details\.hpp|base64\.hpp)' \
  "http/ includes a persistence header other than the plain records and base64"
deny http '#include <caf/|caf::(actor|scoped|behavior|typed_actor|spawn|anon_send)' \
  "http/ uses CAF beyond the runtime facade's results"
deny http '#include "actors/(?!system\.hpp|runtime\.hpp|outbound\.hpp|replication_port\.hpp|scanner_port\.hpp|reconcile_port\.hpp|artifact_details_port\.hpp|metrics\.hpp|observability/)' \
  "http/ includes an actor header other than the runtime facade"
# The outbound client is wrapped by actors, so it knows none of them.
for f in http/client.hpp http/client.cpp; do
  deny "$f" '#include "(actors|persistence)/|caf::' \
    "the outbound client ($f) depends on the actors or stores"
done

exit $failed
