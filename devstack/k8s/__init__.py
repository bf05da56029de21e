"""The local Kubernetes lane: a real single-node cluster on 127.0.0.1 (``make k8s-up``).

Built from the package registries only (build.sh: Kubernetes and etcd from the Go module proxy;
containerd and runc from Debian), the model image built from ``model_pod/Dockerfile`` by
buildah (images.sh), the manifests of ``deploy/kubernetes`` applied server-side (cluster.py).
See docs/kubernetes.md.
"""
