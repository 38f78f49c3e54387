"""Controllers: workers, builder, handlers, predicates, and controllerutil."""
