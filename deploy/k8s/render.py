"""Render a kustomization without the kustomize binary (none is installable here).

    python deploy/k8s/render.py deploy/k8s/overlays/prod > prod.yaml

Supports the subset deploy/k8s uses, and refuses any other field so a kustomization cannot
silently mean more than this renders: ``resources`` (files or folders with a kustomization),
``namespace``, ``labels`` (pairs added to metadata.labels), ``patches`` (``path``: strategic
merge patches, matched by kind and name), ``secretGenerator`` (``envs`` files and
``literals``) with ``generatorOptions.disableNameSuffixHash: true``. The strategic merge
follows Kubernetes' rule for the lists this project patches: lists of objects with a ``name``
are merged item by item on ``name``, other lists and scalars are replaced.
`kubectl kustomize` gives the same result for these files.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "patches",
    "secretGenerator",
    "generatorOptions",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge of ``patch`` into ``base`` (a new value; neither is changed)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in [*base, *patch])
    ):
        merged_list = list(base)
        names = [item["name"] for item in merged_list]
        for item in patch:
            if item["name"] in names:
                index = names.index(item["name"])
                merged_list[index] = merge(merged_list[index], item)
            else:
                merged_list.append(item)
        return merged_list
    return patch


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _secret(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    unknown = set(entry) - {"name", "envs", "literals"}
    if unknown:
        raise ValueError(f"secretGenerator {entry.get('name')}: unsupported {sorted(unknown)}")
    pairs = [literal.split("=", 1) for literal in entry.get("literals", [])]
    for env_file in entry.get("envs", []):
        for line in (folder / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                pairs.append(line.split("=", 1))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": entry["name"]},
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in pairs},
    }


def render(folder: Path) -> list[dict[str, Any]]:
    """The resources of the kustomization in ``folder``, as kustomize would build them."""
    [kustomization] = _documents(folder / "kustomization.yaml")
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{folder}/kustomization.yaml: unsupported fields {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (folder / entry).resolve()
        resources += render(target) if target.is_dir() else _documents(target)
    options = kustomization.get("generatorOptions", {})
    generators = kustomization.get("secretGenerator", [])
    if generators and options != {"disableNameSuffixHash": True}:
        raise ValueError("secretGenerator needs generatorOptions.disableNameSuffixHash: true here")
    resources += [_secret(entry, folder) for entry in generators]
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise ValueError(f"patch {patch_entry}: only path patches are supported")
        for patch in _documents(folder / patch_entry["path"]):
            key = (patch["kind"], patch["metadata"]["name"])
            matches = [
                i for i, r in enumerate(resources) if (r["kind"], r["metadata"]["name"]) == key
            ]
            if len(matches) != 1:
                raise ValueError(f"patch for {key} matches {len(matches)} resources")
            resources[matches[0]] = merge(resources[matches[0]], patch)
    labels: dict[str, str] = {}
    for entry in kustomization.get("labels", []):
        labels |= entry["pairs"]
    namespace = kustomization.get("namespace")
    rendered = []
    for resource in resources:
        metadata = dict(resource["metadata"])
        if labels:
            metadata["labels"] = {**metadata.get("labels", {}), **labels}
        if namespace and resource["kind"] not in CLUSTER_SCOPED:
            metadata["namespace"] = namespace
        rendered.append({**resource, "metadata": metadata})
    return rendered


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: render.py KUSTOMIZATION_FOLDER", file=sys.stderr)
        return 2
    print(yaml.safe_dump_all(render(Path(argv[0])), sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
