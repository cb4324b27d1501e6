"""The data model: schema, validation, tables and graph."""

from semigraph.model.model import Model, Unit, default_dataset_path, load

__all__ = ["Model", "Unit", "default_dataset_path", "load"]
