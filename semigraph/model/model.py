"""The semigraph model: the dataset's tables and the graph built from them."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import networkx as nx

from semigraph.errors import DatasetError, Problem, UnknownUnitError
from semigraph.io.read import read_files, read_folder
from semigraph.model.build import add_share_estimates, build_graph
from semigraph.model.cache import dataset_key, load_cached, store
from semigraph.model.validate import validate
from semigraph.schema import TABLES, columns

__all__ = ["Model", "Unit", "default_dataset_path", "load"]


@dataclass(frozen=True)
class Unit:
    """Something a scenario can disrupt.

    ``kind`` is one of ``country``, ``bloc``, ``firm``, ``site`` (a firm's or a component's
    production in one country, written ``nexperia@CHN`` or ``gallium@CHN``), ``component`` or
    ``supply`` (one supply row, written ``supply:component/supplier@site``). ``id`` is the
    canonical spelling.
    """

    kind: str
    id: str
    firm: str | None = None
    country: str | None = None
    component: str | None = None

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded, validated dataset.

    The tables are pandas DataFrames with the columns of the schema (plus, for ``supply``,
    the derived ``share_used``, ``share_estimated`` and ``supplier_kind``); ``graph`` is the
    public networkx form built from them (on first use). ``uncertainty`` holds the ranges of
    estimated figures (empty, with its columns, when the dataset gives none).
    """

    name: str
    version: str
    path: Path | None
    countries: pd.DataFrame
    firms: pd.DataFrame
    components: pd.DataFrame
    supply: pd.DataFrame
    consumption: pd.DataFrame
    requires: pd.DataFrame
    sources: pd.DataFrame
    uncertainty: pd.DataFrame
    meta: dict = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The public networkx form of the tables, built on first use (the analyses work on
        the tables and their compiled arrays, so a large dataset pays for it only when asked)."""
        return build_graph(self.tables)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name."""
        return {t: getattr(self, t) for t in TABLES}

    @cached_property
    def blocs(self) -> dict[str, tuple[str, ...]]:
        """Bloc name -> member country ids (sorted)."""
        out: dict[str, list[str]] = {}
        for cid, blocs in zip(self.countries["id"], self.countries["blocs"]):
            for bloc in (blocs or "").split(";"):
                if bloc:
                    out.setdefault(bloc, []).append(cid)
        return {b: tuple(sorted(m)) for b, m in sorted(out.items())}

    @cached_property
    def _ids(self) -> dict[str, set[str]]:
        return {
            "country": set(self.countries["id"]),
            "firm": set(self.firms["id"]),
            "component": set(self.components["id"]),
            "bloc": set(self.blocs),
        }

    def members(self, region: str) -> tuple[str, ...]:
        """Countries of a region: a country id, or the members of a bloc."""
        if region in self._ids["country"]:
            return (region,)
        if region in self.blocs:
            return self.blocs[region]
        raise UnknownUnitError(f"unknown country or bloc {region!r}"
                               + self._did_you_mean(region, ("country", "bloc")))

    def _did_you_mean(self, text: str, kinds=("country", "bloc", "firm", "component")) -> str:
        pool = {i for k in kinds for i in self._ids[k]}
        names: dict[str, str] = {}
        if "firm" in kinds:
            names.update({n.lower(): i for i, n in zip(self.firms["id"], self.firms["name"])})
        if "component" in kinds:
            names.update({n.lower(): i for i, n in zip(self.components["id"],
                                                       self.components["name"])})
        if "country" in kinds:
            names.update({n.lower(): i for i, n in zip(self.countries["id"],
                                                       self.countries["name"])})
        lowered = {i.lower(): i for i in pool}
        key = text.lower()
        if key in lowered:
            return f" (did you mean {lowered[key]!r}?)"
        if key in names:
            return f" (did you mean {names[key]!r}?)"
        close = difflib.get_close_matches(key, list(lowered) + list(names), n=3, cutoff=0.6)
        hits = list(dict.fromkeys(lowered.get(c) or names[c] for c in close))
        if not hits:
            return ""
        return " (did you mean " + " or ".join(repr(h) for h in hits) + "?)"

    def resolve(self, text: str) -> Unit:
        """Resolve a unit id typed by an analyst.

        Accepts a bare id (``CHN``, ``EU27``, ``asml``, ``gallium``, ``nexperia@CHN``) or a
        typed one (``country:CHN``, ``bloc:EU27``, ``firm:asml``, ``component:gallium``,
        ``site:nexperia@CHN``, ``supply:discrete-assembly/nexperia@CHN``). Unknown ids raise
        :class:`UnknownUnitError` with a did-you-mean suggestion.
        """
        raw = text.strip()
        kind, _, rest = raw.partition(":") if ":" in raw else ("", "", raw)
        if kind and kind not in ("country", "bloc", "firm", "site", "component", "supply"):
            raise UnknownUnitError(f"unknown unit kind {kind!r} in {text!r}: use country:, "
                                   "bloc:, firm:, site:, component: or supply:")
        if kind == "supply" or (not kind and "/" in rest):
            comp, _, supplier_site = rest.partition("/")
            supplier, _, site = supplier_site.partition("@")
            mask = (self.supply["component"] == comp) & (self.supply["supplier"] == supplier)
            if site:
                mask &= self.supply["site"] == site
            if not mask.any():
                raise UnknownUnitError(
                    f"no supply row {rest!r}: write supply:COMPONENT/SUPPLIER@SITE"
                    + self._did_you_mean(comp, ("component",)))
            if mask.sum() > 1:
                sites = ", ".join(sorted(self.supply.loc[mask, "site"]))
                raise UnknownUnitError(f"{rest!r} names {int(mask.sum())} supply rows (sites "
                                       f"{sites}); add @SITE")
            site = site or self.supply.loc[mask, "site"].iloc[0]
            return Unit("supply", f"supply:{comp}/{supplier}@{site}", firm=supplier,
                        country=site, component=comp)
        if kind == "site" or (not kind and "@" in rest):
            who, _, site = rest.partition("@")
            is_comp = who in self._ids["component"]
            if not is_comp and who not in self._ids["firm"]:
                raise UnknownUnitError(f"unknown firm or component {who!r} in {text!r}"
                                       + self._did_you_mean(who, ("firm", "component")))
            if site not in self._ids["country"]:
                raise UnknownUnitError(f"unknown site country {site!r} in {text!r}"
                                       + self._did_you_mean(site, ("country",)))
            col = "component" if is_comp else "supplier"
            if not ((self.supply[col] == who) & (self.supply["site"] == site)).any():
                have = sorted(set(self.supply.loc[self.supply[col] == who, "site"]))
                raise UnknownUnitError(f"{who} has no supply produced in {site} (sites: "
                                       f"{', '.join(have) or 'none'})")
            return Unit("site", f"{who}@{site}", firm=None if is_comp else who, country=site,
                        component=who if is_comp else None)
        for k in (kind,) if kind else ("country", "bloc", "firm", "component"):
            if rest in self._ids[k]:
                return Unit(k, rest, firm=rest if k == "firm" else None,
                            country=rest if k == "country" else None,
                            component=rest if k == "component" else None)
        kinds = (kind,) if kind else ("country", "bloc", "firm", "component")
        what = kind or "unit"
        raise UnknownUnitError(f"unknown {what} {rest!r}" + self._did_you_mean(rest, kinds))

    def to_folder(self, path: str | Path, *, format: str = "csv") -> Path:
        """Write the tables (schema columns only) to ``path`` as CSV or Parquet."""
        from semigraph.io.write import write_dataset

        return write_dataset(self, Path(path), format=format)


def default_dataset_path() -> Path:
    """The bundled dataset: inside the installed package, else in the source checkout."""
    env = os.environ.get("SEMIGRAPH_DATASET")
    if env:
        return Path(env)
    packaged = resources.files("semigraph").joinpath("_datasets", "semiconductors")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "datasets" / "semiconductors"


def load(path: str | Path | None = None, *, strict: bool = False, cls: type = Model):
    """Read and validate a dataset folder as a ``cls`` (a :class:`Model`); see
    :func:`semigraph.load`, which returns it as a :class:`semigraph.Network`."""
    folder = Path(path) if path is not None else default_dataset_path()
    # each file is read once: the key hashes the very bytes that are validated
    files = read_files(folder) if folder.is_dir() else None
    key = dataset_key(folder, files) if files is not None else None
    hit = load_cached(key) if key else None
    if hit is not None:  # the same files validated before: their tables and warnings
        typed, problems, meta = hit
    else:
        raw = read_folder(folder, files)
        typed, problems = validate(raw)
        meta = raw.meta
        if key and not any(p.severity == "error" for p in problems):
            store(key, typed, problems, meta)
    errors = [p for p in problems if p.severity == "error" or strict]
    if errors:
        raise DatasetError(problems, path=str(folder))
    tables = {name: frame.reset_index(drop=True) for name, frame in typed.items()}
    firms = tables["firms"]
    firms["controlled_by"] = firms["controlled_by"].where(firms["controlled_by"].notna(),
                                                          firms["hq"])
    tables["supply"] = add_share_estimates(tables["supply"], set(tables["countries"]["id"]))
    return cls(
        name=str(meta.get("name") or folder.name),
        version=str(meta.get("version") or "unversioned"),
        path=folder,
        meta=meta,
        warnings=tuple(p for p in problems if p.severity == "warning"),
        **tables,
    )


def schema_columns(table: str) -> list[str]:
    """Names of the schema columns of ``table`` (without derived columns)."""
    return [c.name for c in columns(table)]
