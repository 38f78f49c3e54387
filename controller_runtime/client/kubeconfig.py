"""kubernetes_asyncio's configuration loaders without its generated API.

Any `import kubernetes_asyncio...` first runs the package's `__init__`, which imports
`kubernetes_asyncio.client`, whose `__init__` imports about 100 generated API classes and 1,500
models: about 74 MiB of RSS and a CPU second at every start (see bench/client_import.py), for a
runtime that speaks plain JSON. The loaders themselves (`config.kube_config`,
`config.incluster_config`) need only `client.configuration.Configuration`; `kube_config` also
names `client.ApiClient`, used only by `new_client_from_config*`, which the runtime never calls.

So, when the package is not imported yet, `kubernetes_asyncio` and `kubernetes_asyncio.client`
are entered in `sys.modules` as the real package modules with their `__init__` not yet run
(`module_from_spec` without `exec_module`), the loader modules are imported under them, and each
package runs its real `__init__` into the same module object the first time anyone asks it for
a name it does not have yet (a module `__getattr__`). Hence:
- one set of modules per process: a later `from kubernetes_asyncio import client` (tests,
  envtest) gets the complete package, whose `Configuration` is the class loaded here;
- `kube_config.ApiClient` is a stand-in that imports the real ApiClient when called.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Coroutine
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kubernetes_asyncio.client.configuration import Configuration
    from kubernetes_asyncio.config.incluster_config import InClusterConfigLoader

PACKAGE = "kubernetes_asyncio"
CLIENT = "kubernetes_asyncio.client"


class Loaders(NamedTuple):
    configuration: type[Configuration]
    load_kube_config: Callable[..., Coroutine[Any, Any, None]]
    in_cluster: type[InClusterConfigLoader]


def _deferred_package(name: str) -> ModuleType:
    """The package module with its `__init__` held back until a missing name is asked for."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find {name}")
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(attr: str) -> Any:
        # Runs once: the real __init__ defines everything, and removing this hook first makes
        # a name the package truly lacks an ordinary AttributeError.
        module.__dict__.pop("__getattr__", None)
        loader.exec_module(module)
        return getattr(module, attr)

    module.__dict__["__getattr__"] = complete
    sys.modules[name] = module
    return module


def _api_client(*args: Any, **kwargs: Any) -> Any:
    """Stands in for kubernetes_asyncio.client.ApiClient inside kube_config."""
    from kubernetes_asyncio.client.api_client import ApiClient

    return ApiClient(*args, **kwargs)


@cache
def loaders() -> Loaders:
    """The configuration class and the loaders, imported without the generated API unless
    the package was imported already (then they are simply those of the package)."""
    if PACKAGE not in sys.modules:
        package = _deferred_package(PACKAGE)
        client = _deferred_package(CLIENT)
        package.__dict__["client"] = client  # as importing the submodule would bind it
        configuration = importlib.import_module(f"{CLIENT}.configuration")
        # What `from kubernetes_asyncio.client import ApiClient, Configuration` in the
        # loaders needs; ApiClient only while they import, so the package completes on the
        # first real use of client.ApiClient.
        client.__dict__["Configuration"] = configuration.Configuration
        client.__dict__["ApiClient"] = _api_client
        try:
            importlib.import_module(f"{PACKAGE}.config")
        finally:
            del client.__dict__["ApiClient"]
    kube_config = importlib.import_module(f"{PACKAGE}.config.kube_config")
    in_cluster = importlib.import_module(f"{PACKAGE}.config.incluster_config")
    return Loaders(
        configuration=importlib.import_module(f"{CLIENT}.configuration").Configuration,
        load_kube_config=kube_config.load_kube_config,
        in_cluster=in_cluster.InClusterConfigLoader,
    )
