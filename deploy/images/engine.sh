# Sourced by the image scripts: picks the container engine and its settings.
#   CONTAINER_ENGINE  docker or podman; empty: docker if `docker info` answers, else podman if
#                     `podman info` does.
#   CONTAINERS_CONF   podman's settings; empty: deploy/images/containers.conf (runc, ulimits,
#                     host network: this project's machine type).

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$images_dir/containers.conf}

pick_engine() {
  if [[ -n ${CONTAINER_ENGINE:-} ]]; then
    echo "$CONTAINER_ENGINE"
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null && podman info >/dev/null 2>&1; then
    echo podman
  else
    echo "no container engine answers: neither 'docker info' nor 'podman info' works." >&2
    echo "On Debian or Ubuntu, as root: make container-tools (apt-get install podman runc mmdebstrap)." >&2
    return 1
  fi
}

image_exists() {  # image_exists ENGINE REF
  "$1" image inspect "$2" >/dev/null 2>&1
}
