"""Dockyard's own small images (busybox, hello), built locally from files shipped in this package."""

from dockyard.images.build import HASH_LABEL, BuildContext, build_context, ensure_image, image_tag

__all__ = ["HASH_LABEL", "BuildContext", "build_context", "ensure_image", "image_tag"]
