#!/usr/bin/env bash
# Render every overlay, and the base with every opt-in component, then validate the output
# offline: kubernetes-validate --strict against the Kubernetes schemas it bundles, and custom
# resources (ServiceMonitor) against the schemas in schemas/. Exits non-zero on any invalid
# resource, unknown field, or resource without a schema.
#
#   deploy/k8s/validate.sh [K8S_DIR]      (default: the directory holding this script)
#
# Needs kubectl (embedded kustomize) and a Python with kubernetes-validate and PyYAML: $PYTHON,
# else .venv/bin/python at the repository root. KUBE_VERSION picks the schemas (default 1.30.0,
# the oldest cluster version supported).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k8s_dir=$(cd "${1:-$here}" && pwd)
kube_version=${KUBE_VERSION:-1.30.0}
python=${PYTHON:-$here/../../.venv/bin/python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rendered=()
for overlay in "$k8s_dir"/overlays/*/; do
  name=overlay-$(basename "$overlay")
  kubectl kustomize "$overlay" >"$work/$name.yaml"
  rendered+=("$work/$name.yaml")
done

# The base alone does not include the opt-in components; render it once with all of them.
# (kustomize takes relative paths only.)
mkdir "$work/base-with-components"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$work/base-with-components" "$k8s_dir/base")"
  echo "components:"
  for component in "$k8s_dir"/components/*/; do
    echo "  - $(realpath --relative-to="$work/base-with-components" "$component")"
  done
} >"$work/base-with-components/kustomization.yaml"
kubectl kustomize "$work/base-with-components" >"$work/base-with-components.yaml"
rendered+=("$work/base-with-components.yaml")

"$python" "$here/check_rendered.py" --kubernetes-version "$kube_version" \
  --schemas "$here/schemas" "${rendered[@]}"
