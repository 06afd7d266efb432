"""`make images-smoke`: the whole system from its images, started by `podman kube play` from
the rendered dev overlay, driven through the demo's end-to-end path, then torn down."""
