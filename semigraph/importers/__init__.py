"""Importers: turn third-party supply-chain datasets into semigraph dataset folders."""
