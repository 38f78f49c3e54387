"""An asyncio controller runtime for Kubernetes: workqueues, informers, client, manager, envtest."""
