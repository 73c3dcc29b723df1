#!/bin/sh
# One-shot registration of Trellis's namespace, run by the temporal-namespace service once the
# Temporal server is healthy. Idempotent: an existing namespace is left as it is.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}"
if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "${TEMPORAL_RETENTION:-30d}"
fi
