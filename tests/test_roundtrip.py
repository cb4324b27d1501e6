"""Any dataset the loader accepts round-trips CSV -> Parquet -> the same graph."""

from __future__ import annotations

import networkx as nx
from hypothesis import HealthCheck, given, settings

import semigraph
from tests.datasets import random_tables, write_dataset


def same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    return (dict(a.nodes(data=True)) == dict(b.nodes(data=True))
            and sorted(a.edges(keys=True, data=True), key=repr)
            == sorted(b.edges(keys=True, data=True), key=repr))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tables=random_tables())
def test_csv_parquet_roundtrip(tmp_path_factory, tables):
    folder = tmp_path_factory.mktemp("rt")
    model = semigraph.load(write_dataset(folder / "csv", tables))
    model.to_folder(folder / "pq", format="parquet")
    again = semigraph.load(folder / "pq")
    assert same_graph(model.graph, again.graph)
    model.to_folder(folder / "csv2", format="csv")
    assert same_graph(model.graph, semigraph.load(folder / "csv2").graph)


def test_bundled_dataset_roundtrips(tmp_path):
    model = semigraph.load()
    model.to_folder(tmp_path / "pq", format="parquet")
    assert same_graph(model.graph, semigraph.load(tmp_path / "pq").graph)
