#!/usr/bin/env bash
# Checks a `pulumi preview|up` of one stack needs in CI, after AWS credentials: the stack's secrets
# are encrypted with AWS KMS (its Pulumi.<stack>.yaml has `secretsprovider: awskms://...`, written by
# `pulumi stack init --secrets-provider`), so no passphrase is needed and none is stored anywhere.
#
# No kubeconfig is set up: the program's Kubernetes provider builds its own from the cluster facts
# (platform:cluster), with a token from `aws eks get-token` assuming the compute account's role.
#
# Usage: .github/scripts/stack-access.sh STACK   (from the repository root)
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
