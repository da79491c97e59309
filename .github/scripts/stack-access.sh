#!/usr/bin/env bash
# Checks and connections a `pulumi preview|up` of one stack needs in CI, after AWS credentials:
#
# 1. the stack's secrets are encrypted with AWS KMS (its Pulumi.<stack>.yaml has
#    `secretsprovider: awskms://...`, written by `pulumi stack init --secrets-provider`), so no
#    passphrase is needed and none is stored anywhere;
# 2. a kubeconfig for the stack's EKS cluster (the Kubernetes provider uses the current
#    context): EKS_CLUSTER_NAME when set, else the stack config's platform:kubernetes.clusterContext.
#
# Usage: .github/scripts/stack-access.sh STACK   (from the repository root; AWS_REGION set)
set -euo pipefail

stack="${1:?usage: stack-access.sh STACK}"
case "$stack" in
  development | test | production) ;;
  *) echo "::error::unknown stack '$stack'" >&2; exit 2 ;;
esac
config="Pulumi.${stack}.yaml"

if ! grep -Eq '^secretsprovider: awskms://' "$config"; then
  echo "::error file=${config}::stack ${stack} has no KMS secrets provider: run 'pulumi stack init ${stack} --secrets-provider awskms://alias/<key>' once (docs/operations.md) and commit ${config}" >&2
  exit 1
fi

cluster="${EKS_CLUSTER_NAME:-}"
if [ -z "$cluster" ]; then
  cluster="$(.venv/bin/python - "$config" <<'PY'
import sys

import yaml

config = (yaml.safe_load(open(sys.argv[1])) or {}).get("config") or {}
print((config.get("platform:kubernetes") or {}).get("clusterContext") or "")
PY
)"
fi
if [ -z "$cluster" ]; then
  echo "::error file=${config}::no EKS cluster for ${stack}: set platform:kubernetes.clusterContext or the EKS_CLUSTER_NAME variable" >&2
  exit 1
fi
aws eks update-kubeconfig --name "$cluster" --alias "$stack" --region "${AWS_REGION:?AWS_REGION is not set}"
