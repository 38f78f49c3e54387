"""CRD generation for sei.io/v1alpha1: the models are the single source of truth.

``python -m api.v1alpha1.crdgen [--output DIR]`` writes the CRDs and a kustomization.yaml;
``--check`` compares the committed files with freshly generated ones instead.
"""

from .crds import KINDS, build_crd, crd_file_name
from .render import KUSTOMIZATION, check_files, render_files, write_files
from .structural import instance_errors, structural_errors

__all__ = [
    "KINDS",
    "KUSTOMIZATION",
    "build_crd",
    "check_files",
    "crd_file_name",
    "instance_errors",
    "render_files",
    "structural_errors",
    "write_files",
]
