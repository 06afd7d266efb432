#!/usr/bin/env bash
# Builds the four service images from deploy/images/Dockerfile, checks each one runs on its own,
# copies out its SBOM and prints a table of sizes and SBOM paths. What `make images` runs.
#
#   deploy/images/build.sh [SERVICE...]                  (default: all five)
#
# Environment (the Makefile passes its variables):
#   IMAGE_REGISTRY, IMAGE_TAG    images are named $IMAGE_REGISTRY/<service>:$IMAGE_TAG
#   IMAGE_VERSION, IMAGE_SOURCE  the OCI version and source labels (revision is `git rev-parse`)
#   BASE_IMAGE, BUILD_IMAGE      the runtime and builder bases; empty: the Dockerfile's pinned
#                                public image if the engine has it or can pull it, else the local
#                                base from Debian packages (base-image.sh, built once)
#   DEBIAN_SUITE, LOCAL_BASE     which local base (bookworm: Python 3.11; trixie: 3.13)
#   BUILD_CA_FILE                the CA bundle the downloads in the build trust, as a build secret
#                                (default: the host's, /etc/ssl/certs/ca-certificates.crt, so a
#                                TLS-inspecting proxy the host trusts works; empty: the image's)
#   SBOM_DIR                     where the SBOMs are copied (default var/images/sbom)
set -euo pipefail
source "$(dirname "$0")/engine.sh"
root=$(cd "$images_dir/../.." && pwd)
cd "$root"

services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=(gateway assessments candidates harvest-sync console)
engine=$(pick_engine)
registry=${IMAGE_REGISTRY:-localhost/alooba}
tag=${IMAGE_TAG:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)}
version=${IMAGE_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
source_url=${IMAGE_SOURCE:-https://github.com/alooba/greenhouse-integration}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
suite=${DEBIAN_SUITE:-bookworm}
local_base=${LOCAL_BASE:-localhost/alooba/python}
sbom_dir=${SBOM_DIR:-var/images/sbom}
dockerfile=deploy/images/Dockerfile

base_args=()
if [[ -n ${BASE_IMAGE:-} ]]; then
  base_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_IMAGE=${BUILD_IMAGE:-$BASE_IMAGE}")
  echo "images: base $BASE_IMAGE (given)"
else
  public=$(sed -n 's/^ARG BASE_IMAGE=//p' "$dockerfile")
  if image_exists "$engine" "$public" || "$engine" pull -q "$public" >/dev/null 2>&1; then
    echo "images: base $public (the Dockerfile's default)"
  else
    echo "images: $public cannot be pulled (no registry reachable): using the local base"
    if ! image_exists "$engine" "$local_base:$suite" ||
      ! image_exists "$engine" "$local_base-build:$suite"; then
      "$images_dir/base-image.sh" "$engine" "$suite" "$local_base"
    fi
    base_args=(--build-arg "BASE_IMAGE=$local_base:$suite"
      --build-arg "BUILD_IMAGE=$local_base-build:$suite")
    echo "images: base $local_base:$suite, builder $local_base-build:$suite (make base-image)"
  fi
fi

secret_args=()
ca_file=${BUILD_CA_FILE-/etc/ssl/certs/ca-certificates.crt}
if [[ -n $ca_file && -s $ca_file ]]; then
  secret_args=(--secret "id=build-ca,src=$ca_file")
fi

mkdir -p "$sbom_dir" var/images
rows=()
for service in "${services[@]}"; do
  image=$registry/$service:$tag
  port=50051
  [[ $service == gateway || $service == console ]] && port=8080
  echo "images: building $image with $engine"
  start=$SECONDS
  log=var/images/build-$service.log
  "$engine" build -f "$dockerfile" \
    "${base_args[@]}" "${secret_args[@]}" \
    --build-arg "SERVICE=$service" --build-arg "PORT=$port" \
    --build-arg "REVISION=$revision" --build-arg "VERSION=$version" \
    --build-arg "SOURCE=$source_url" \
    -t "$image" . >"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "images: $service failed; log: $log" >&2; exit 1; }
  module=${service//-/_}
  # The image on its own: every module of the service imports (libraries a wheel links too),
  # and the entry point answers.
  "$engine" run --rm --entrypoint /app/.venv/bin/python "$image" \
    -c "$(cat "$images_dir/import_all.py")" "$module"
  "$engine" run --rm "$image" --help >/dev/null
  in_image=/app/sbom/alooba-$service.cdx.json
  "$engine" run --rm --entrypoint cat "$image" "$in_image" >"$sbom_dir/alooba-$service.cdx.json"
  components=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["components"]))' \
    "$sbom_dir/alooba-$service.cdx.json")
  bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
  rows+=("$(printf '%-44s %7.1f MB  %4ss  %s (%s components; in the image: %s)' \
    "$image" "$(echo "$bytes / 1000000" | bc -l)" "$((SECONDS - start))" \
    "$sbom_dir/alooba-$service.cdx.json" "$components" "$in_image")")
done

echo
echo "images built ($engine), target < 200 MB each:"
printf '  %-44s %10s  %5s  %s\n' IMAGE SIZE BUILD "CYCLONEDX SBOM"
for row in "${rows[@]}"; do echo "  $row"; done
